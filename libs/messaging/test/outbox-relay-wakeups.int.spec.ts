import { randomUUID } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { withTransaction } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, sleep, type TopicReader } from '@platform/testing';
import { OutboxPublisher, OutboxRelay } from '../src';
import { OUTBOX_CHANNEL } from '../src/outbox/outbox.schema';
import { endpointUpdated, messagingHarness, readerOfTopics, type MessagingHarness } from './harness';

jest.setTimeout(60_000);

/** The pool with its queries counted: the relay's statements, without the lock connection's. */
function countingQueries(pool: Pool): { pool: Pool; count: () => number } {
  let count = 0;
  const counted = new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (...args: Parameters<Pool['query']>) => {
          count += 1;
          return (target.query as (...a: unknown[]) => unknown)(...args);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { pool: counted, count: () => count };
}

/** What an idle relay costs the database when a row wakes it (real PostgreSQL and Kafka). */
describe('outbox relay wake-ups', () => {
  let h: MessagingHarness;
  let relay: OutboxRelay;
  let reader: TopicReader;
  const publisher = new OutboxPublisher('outbox-wakeups', [EndpointUpdated]);

  beforeAll(async () => {
    h = await messagingHarness('outbox_wakeups');
    reader = await readerOfTopics(h, [EndpointUpdated]);
  });

  afterEach(async () => {
    await relay?.stop();
  });

  afterAll(async () => {
    await reader?.stop();
    await h?.close();
  });

  it('reads twice per row that wakes it: the batch, then the delete with the next read; no third look before sleeping again', async () => {
    const counted = countingQueries(h.db.pool as Pool);
    // No fallback poll within the test: every read counted is one a NOTIFY caused.
    relay = new OutboxRelay({ pool: counted.pool, naming: h.naming, logger: h.logger, producerFactory: () => h.broker.producer({ idempotent: true }), pollIntervalMs: 60_000 });
    relay.start();
    const first = randomUUID();
    await withTransaction(h.db.pool, (tx) => publisher.publish(tx, EndpointUpdated, endpointUpdated(first, 1)));
    await eventually(() => expect(reader.messages.some((m) => m.key === first)).toBe(true), { timeoutMs: 20_000 });
    const settled = async () => {
      let seen = -1;
      while (seen !== counted.count()) {
        seen = counted.count();
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    };
    await settled();
    const perWake: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = counted.count();
      const key = randomUUID();
      await withTransaction(h.db.pool, (tx) => publisher.publish(tx, EndpointUpdated, endpointUpdated(key, 1)));
      await eventually(() => expect(reader.messages.some((m) => m.key === key)).toBe(true), { timeoutMs: 10_000 });
      await settled();
      perWake.push(counted.count() - before);
    }
    expect(perWake).toEqual([2, 2, 2, 2, 2]);
    expect(relay.stats().sent).toBe(6);
  });

  it('stops writers notifying while rows come at its busy rate, and lets them notify again once they stop', async () => {
    const listener = new Client(h.db.pool.options);
    await listener.connect();
    let notified = 0;
    listener.on('notification', () => (notified += 1));
    await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
    try {
      relay = new OutboxRelay({ pool: h.db.pool, naming: h.naming, logger: h.logger, producerFactory: () => h.broker.producer({ idempotent: true }), busyRowsPerSecond: 20 });
      relay.start();
      // Four writers, a transaction each every 40 ms: about 100 rows a second for 2 s.
      const keys: string[] = [];
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; Date.now() - started < 2000; i++) {
            const due = started + i * 40;
            if (due > Date.now()) await sleep(due - Date.now());
            const key = randomUUID();
            keys.push(key);
            await withTransaction(h.db.pool, (tx) => publisher.publish(tx, EndpointUpdated, endpointUpdated(key, 1)));
          }
        }),
      );
      await eventually(() => expect(keys.every((key) => reader.messages.some((m) => m.key === key))).toBe(true), { timeoutMs: 20_000 });
      // Writers notified until the relay had seen a window of them (250 ms), not all along.
      expect(keys.length).toBeGreaterThan(100);
      expect(notified).toBeLessThan(keys.length / 3);

      // Quiet again: the relay asks writers to notify, and a lone row wakes it.
      await sleep(1000);
      const before = notified;
      const lone = randomUUID();
      await withTransaction(h.db.pool, (tx) => publisher.publish(tx, EndpointUpdated, endpointUpdated(lone, 1)));
      await eventually(() => expect(reader.messages.some((m) => m.key === lone)).toBe(true), { timeoutMs: 10_000 });
      expect(notified).toBe(before + 1);
    } finally {
      await listener.end();
    }
  });
});
