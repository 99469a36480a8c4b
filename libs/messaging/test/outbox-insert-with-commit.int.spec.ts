import { withOpenedTransaction, withTransaction, type PooledSqlClient, type SqlPool } from '@platform/core';
import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { applySqlMigrations, createTestDatabase, type TestDatabase } from '@platform/testing';
import { MESSAGING_MIGRATIONS, OutboxPublisher } from '../src';
import { endpointUpdated } from './harness';

jest.setTimeout(30_000);

/** The pool, its clients noting the text of every statement they send (one entry per round trip). */
function notingPool(pool: SqlPool, sent: string[]): SqlPool {
  return {
    query: (text, values) => pool.query(text, values),
    connect: async () => {
      const client = await pool.connect();
      const noting: PooledSqlClient = {
        query: (text, values) => (sent.push(text), client.query(text, values)),
        release: (error) => client.release(error),
        on: (event, listener) => client.on?.(event, listener),
        off: (event, listener) => client.off?.(event, listener),
      };
      return noting;
    },
  };
}

describe("the outbox insert travels with its transaction's COMMIT (real PostgreSQL)", () => {
  let db: TestDatabase;
  const publisher = new OutboxPublisher('outbox-test', [EndpointUpdated]);

  beforeAll(async () => {
    db = await createTestDatabase('outbox_with_commit');
    await applySqlMigrations(db.pool, MESSAGING_MIGRATIONS);
    await db.pool.query('CREATE TABLE state (id uuid PRIMARY KEY)');
  });

  afterAll(() => db?.drop());

  const outboxRows = async (id: string) => (await db.pool.query<{ headers: Record<string, string>; payload: string }>('SELECT headers, payload FROM messaging.outbox WHERE event_id = $1', [id])).rows;
  const stateRows = async (id: string) => (await db.pool.query('SELECT 1 FROM state WHERE id = $1', [id])).rowCount;

  it('costs a transaction of withTransaction no round trip: BEGIN, the state write, then the insert with COMMIT', async () => {
    const sent: string[] = [];
    const stateId = randomUUID();
    const envelope = await withTransaction(notingPool(db.pool, sent), async (tx) => {
      await tx.query('INSERT INTO state (id) VALUES ($1)', [stateId]);
      return publisher.publish(tx, EndpointUpdated, endpointUpdated(randomUUID(), 1));
    });
    expect(sent).toHaveLength(3);
    expect(sent[0]).toBe('BEGIN');
    expect(sent[2]).toMatch(/^INSERT INTO messaging\.outbox [\s\S]*;\nCOMMIT$/);
    expect(await stateRows(stateId)).toBe(1);
    expect(await outboxRows(envelope.id)).toHaveLength(1);
  });

  it("rides with the COMMIT of a consumer's transaction (withOpenedTransaction) too", async () => {
    const sent: string[] = [];
    const envelope = await withOpenedTransaction(notingPool(db.pool, sent), 'SELECT 1', (tx) => publisher.publish(tx, EndpointUpdated, endpointUpdated(randomUUID(), 1)));
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatch(/;\nCOMMIT$/);
    expect(await outboxRows(envelope.id)).toHaveLength(1);
  });

  it('keeps the payload and headers exact through the written-in values: quotes, backslashes and non-ASCII', async () => {
    const correlationId = `it's a \\ back\\\\slash, "quoted", ünïcödé 🚀 and a \\' pair`;
    const payload = endpointUpdated(randomUUID(), 7);
    const envelope = await withTransaction(db.pool, (tx) => publisher.publish(tx, EndpointUpdated, payload, { correlationId }));
    const [row] = await outboxRows(envelope.id);
    expect(JSON.parse(row.payload)).toEqual(payload);
    expect(row.headers['ce_correlationid']).toBe(correlationId);
  });

  it('fails the commit when the insert fails, and the state written before it is rolled back', async () => {
    const id = randomUUID();
    await withTransaction(db.pool, (tx) => publisher.publish(tx, EndpointUpdated, endpointUpdated(randomUUID(), 1), { id }));
    const stateId = randomUUID();
    await expect(
      withTransaction(db.pool, async (tx) => {
        await tx.query('INSERT INTO state (id) VALUES ($1)', [stateId]);
        // The same event id again: the outbox's unique index refuses it, at COMMIT.
        await publisher.publish(tx, EndpointUpdated, endpointUpdated(randomUUID(), 2), { id });
      }),
    ).rejects.toThrow(/duplicate key value violates unique constraint/);
    expect(await stateRows(stateId)).toBe(0);
    expect(await outboxRows(id)).toHaveLength(1);
    // The connection went back to the pool usable, not stuck in an aborted transaction.
    await withTransaction(db.pool, (tx) => tx.query('INSERT INTO state (id) VALUES ($1)', [randomUUID()]));
  });

  it('inserts at once in a transaction of the caller\'s own (a TypeORM query runner\'s), where the caller commits', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const envelope = await publisher.publish(client, EndpointUpdated, endpointUpdated(randomUUID(), 1));
      expect((await client.query('SELECT 1 FROM messaging.outbox WHERE event_id = $1', [envelope.id])).rowCount).toBe(1);
      await client.query('ROLLBACK');
      expect(await outboxRows(envelope.id)).toHaveLength(0);
    } finally {
      client.release();
    }
  });
});
