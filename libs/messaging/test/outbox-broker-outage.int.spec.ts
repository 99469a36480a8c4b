import { withTransaction } from '@platform/core';
import { randomUUID } from 'node:crypto';
import { UserCreated } from '@platform/contracts';
import { ensureTopics, OutboxPublisher, OutboxRelay } from '../src';
import { eventually, PrivateKafka, sleep, TopicReader } from '@platform/testing';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(180_000);

/** Fault test: this spec stops and starts a broker of its own, never the shared one. */
describe('outbox across a broker outage', () => {
  let kafka: PrivateKafka;
  let h: MessagingHarness;
  let relay: OutboxRelay;
  const publisher = new OutboxPublisher('outage-test', [UserCreated]);

  const register = (userId: string, n: number) =>
    withTransaction(h.db.pool, (tx) => publisher.publish(tx, UserCreated, { userId, email: `u${n}@example.com`, displayName: `user ${n}` }));

  beforeAll(async () => {
    kafka = await PrivateKafka.onFreePorts();
    await kafka.start();
    h = await messagingHarness('outage', kafka.brokers);
    const admin = await h.broker.admin();
    await ensureTopics(admin, h.naming, [UserCreated]);
    await admin.disconnect();
    relay = new OutboxRelay({
      pool: h.db.pool,
      naming: h.naming,
      logger: h.logger,
      producerFactory: () => h.broker.producer({ idempotent: true }),
      maxBackoffMs: 1000,
    });
    relay.start();
  });

  afterAll(async () => {
    await relay?.stop();
    await h?.close();
    await kafka?.destroy();
  });

  it('keeps accepting writes while Kafka is down and delivers all of them, in order, when it returns', async () => {
    const users = Array.from({ length: 100 }, () => randomUUID());
    for (let i = 0; i < 50; i++) await register(users[i], i);
    await eventually(async () => expect(await relay.backlog()).toBe(0), { timeoutMs: 30_000 });

    await kafka.stop();
    // The API side only writes to PostgreSQL: every one of these must succeed with Kafka gone.
    for (let i = 50; i < 100; i++) await register(users[i], i);
    await sleep(2000);
    expect(await relay.backlog()).toBe(50);
    await eventually(() => expect(relay.stats().failures).toBeGreaterThan(0), { timeoutMs: 30_000 });

    await kafka.start();
    await eventually(async () => expect(await relay.backlog()).toBe(0), { timeoutMs: 90_000, intervalMs: 500 });

    const reader = await new TopicReader(kafka.brokers, [h.naming.topic(UserCreated)]).start();
    try {
      await eventually(() => expect(new Set(reader.messages.map((m) => m.key))).toEqual(new Set(users)), { timeoutMs: 30_000 });
      // At-least-once: a resend after an unacknowledged send may duplicate, never reorder or lose.
      const firstSeen = [...new Map(reader.messages.map((m) => [m.headers['ce_id'], m])).values()];
      expect(firstSeen).toHaveLength(100);
      const byPartition = new Map<number, string[]>();
      for (const m of reader.messages) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m.key ?? '']);
      for (const keys of byPartition.values()) {
        const order = users.filter((u) => keys.includes(u));
        expect([...new Set(keys)]).toEqual(order);
      }
    } finally {
      await reader.stop();
    }
  });
});
