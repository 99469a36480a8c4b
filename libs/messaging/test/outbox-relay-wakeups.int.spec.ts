import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { withTransaction } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { eventually, type TopicReader } from '@platform/testing';
import { OutboxPublisher, OutboxRelay } from '../src';
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

  afterAll(async () => {
    await relay?.stop();
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
});
