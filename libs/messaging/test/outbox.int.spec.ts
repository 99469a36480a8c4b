import { withTransaction } from '@platform/core';
import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { OutboxPublisher, OutboxRelay } from '../src';
import { eventually, type TopicReader } from '@platform/testing';
import { endpointUpdated, messagingHarness, readerOfTopics, type MessagingHarness } from './harness';
import { DELETE_AND_READ_SQL, DELETE_SQL } from '../src/outbox/relay-statements';

jest.setTimeout(60_000);

describe('outbox publishing and relay (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let relay: OutboxRelay;
  let reader: TopicReader;
  const publisher = new OutboxPublisher('outbox-test', [EndpointUpdated]);

  beforeAll(async () => {
    h = await messagingHarness('outbox');
    reader = await readerOfTopics(h, [EndpointUpdated]);
    relay = new OutboxRelay({ pool: h.db.pool, naming: h.naming, logger: h.logger, producerFactory: () => h.broker.producer({ idempotent: true }), batchSize: 50 });
  });

  afterAll(async () => {
    await relay?.stop();
    await reader?.stop();
    await h?.close();
  });

  it('sends every committed event once, in order per key, with CloudEvents headers', async () => {
    const apis = Array.from({ length: 5 }, () => randomUUID());
    // 30 transactions, each interleaving the five keys: the outbox must keep each key's order.
    for (let round = 0; round < 30; round++) {
      await withTransaction(h.db.pool, (tx) =>
        publisher.publishAll(
          tx,
          apis.flatMap((apiId) => [1, 2].map((i) => ({ event: EndpointUpdated, payload: endpointUpdated(apiId, round * 2 + i), metadata: { correlationId: `corr-${round}` } }))),
        ),
      );
    }
    relay.start();

    await eventually(() => expect(reader.messages).toHaveLength(300), { timeoutMs: 30_000 });
    for (const apiId of apis) {
      const versions = reader.messages.filter((m) => m.key === apiId).map((m) => JSON.parse(m.value ?? '{}').version);
      expect(versions).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(new Set(reader.messages.filter((m) => m.key === apiId).map((m) => m.partition)).size).toBe(1);
    }
    const headers = reader.messages[0].headers;
    expect(headers).toMatchObject({
      ce_type: EndpointUpdated.contract.ceType,
      ce_source: '/services/outbox-test',
      ce_specversion: '1.0',
      'content-type': 'application/json',
      ce_correlationid: 'corr-0',
    });
    expect(headers['ce_id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(headers['ce_time'])).not.toBeNaN();
    expect(new Set(reader.messages.map((m) => m.headers['ce_id'])).size).toBe(300);
    await eventually(async () => expect(await relay.backlog()).toBe(0));
  });

  it('sends a row that commits after rows with larger positions were sent and deleted', async () => {
    // The relay deletes a sent batch and reads the next one in one statement; a writer that
    // took its position earlier but commits later must still be picked up.
    const lateKey = randomUUID();
    const early = await h.db.pool.connect();
    try {
      await early.query('BEGIN');
      await publisher.publish(early, EndpointUpdated, endpointUpdated(lateKey, 1));
      const later = Array.from({ length: 120 }, () => randomUUID());
      for (const apiId of later) await withTransaction(h.db.pool, (tx) => publisher.publish(tx, EndpointUpdated, endpointUpdated(apiId, 1)));
      await eventually(() => expect(later.every((k) => reader.messages.some((m) => m.key === k))).toBe(true), { timeoutMs: 30_000 });
      expect(reader.messages.some((m) => m.key === lateKey)).toBe(false);
      await early.query('COMMIT');
    } finally {
      early.release();
    }
    await eventually(() => expect(reader.messages.filter((m) => m.key === lateKey)).toHaveLength(1), { timeoutMs: 10_000 });
    await eventually(async () => expect(await relay.backlog()).toBe(0));
  });

  it("commits the relay's deletes without waiting for the WAL flush, and only statements that deleted rows", async () => {
    const client = await h.db.pool.connect();
    // In a transaction of its own, which the running relay cannot see: the setting the statement
    // leaves for the commit, with one row of this transaction to delete or none.
    const synchronousCommitAfter = async (sql: string, deleteARow: boolean) => {
      await client.query('BEGIN');
      try {
        const envelope = await publisher.publish(client, EndpointUpdated, endpointUpdated(randomUUID(), 1));
        const { rows } = await client.query<{ position: string }>('SELECT position::text FROM messaging.outbox WHERE event_id = $1', [envelope.id]);
        const positions = deleteARow ? [rows[0].position] : [];
        await client.query(sql, sql === DELETE_SQL ? [positions] : [positions, 10, 0, []]);
        return (await client.query<{ value: string }>(`SELECT current_setting('synchronous_commit') AS value`)).rows[0].value;
      } finally {
        await client.query('ROLLBACK');
      }
    };
    try {
      expect(await synchronousCommitAfter(DELETE_AND_READ_SQL, true)).toBe('off');
      expect(await synchronousCommitAfter(DELETE_SQL, true)).toBe('off');
      expect(await synchronousCommitAfter(DELETE_AND_READ_SQL, false)).toBe('on');
      expect(await synchronousCommitAfter(DELETE_SQL, false)).toBe('on');
    } finally {
      client.release();
    }
  });

  it('sends nothing for a rolled-back transaction', async () => {
    const apiId = randomUUID();
    await expect(
      withTransaction(h.db.pool, async (tx) => {
        await publisher.publish(tx, EndpointUpdated, endpointUpdated(apiId, 1));
        throw new Error('business rule failed after publishing');
      }),
    ).rejects.toThrow('business rule failed');
    const marker = randomUUID();
    await withTransaction(h.db.pool, (tx) => publisher.publish(tx, EndpointUpdated, endpointUpdated(marker, 1)));
    await eventually(() => expect(reader.messages.some((m) => m.key === marker)).toBe(true));
    expect(reader.messages.some((m) => m.key === apiId)).toBe(false);
  });

  it('refuses invalid payloads and undeclared events before anything is written', async () => {
    await expect(
      withTransaction(h.db.pool, (tx) => publisher.publish(tx, EndpointUpdated, { ...endpointUpdated(randomUUID(), 1), method: 'FETCH' as 'GET' })),
    ).rejects.toThrow(/Invalid endpoints.endpoint-updated payload: method/);
    const strict = new OutboxPublisher('outbox-test', []);
    await expect(withTransaction(h.db.pool, (tx) => strict.publish(tx, EndpointUpdated, endpointUpdated(randomUUID(), 1)))).rejects.toThrow(
      /does not declare that it publishes endpoints.endpoint-updated/,
    );
  });

  it('lets only one relay per database be active', async () => {
    const standby = new OutboxRelay({ pool: h.db.pool, naming: h.naming, logger: h.logger, producerFactory: () => h.broker.producer({ idempotent: true }), standbyRetryMs: 100 });
    standby.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(relay.stats().leader).toBe(true);
    expect(standby.stats().leader).toBe(false);
    await standby.stop();
  });
});
