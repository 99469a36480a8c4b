import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { createTestDatabase, eventually, sleep, type TestDatabase } from '@platform/testing';
import { compareLogPositions, LOG_START, ProjectionRunner, type RecordedEvent, type Subscription } from '../src';
import { eventLogIds, eventLogProjection, eventLogTable } from './fixtures/event-log.projection';
import { newEvent, storeDatabase, stream, type StoreDatabase } from './support/store-database';

jest.setTimeout(120_000);

/** How long the other transactions stay open at most. */
const HOLD_MS = 10_000;

/**
 * Readers wait only for transactions that can still append to this store: not for one in
 * another database of the server, not for one in this database that appends nothing, and a
 * transaction that appends late is read after what was read before it appended, never skipped.
 */
describe('readers wait only for transactions that can still append (real PostgreSQL)', () => {
  let h: StoreDatabase;
  let elsewhere: TestDatabase;
  const subscriptions: Subscription[] = [];
  const runners: ProjectionRunner[] = [];

  beforeAll(async () => {
    h = await storeDatabase('horizon', { poolSize: 12 });
    elsewhere = await createTestDatabase('es_horizon_elsewhere', { poolSize: 2 });
    await h.db.pool.query('CREATE TABLE unrelated (n integer)');
    await elsewhere.pool.query('CREATE TABLE unrelated (n integer)');
  });
  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.stop()));
    await Promise.all(runners.map((r) => r.stop()));
    await elsewhere?.drop();
    await h?.close();
  });

  /** A subscription and a projection runner, both following only `type`. */
  async function followers(type: string) {
    const delivered: RecordedEvent[] = [];
    subscriptions.push(h.store.subscribe({ types: [type], pollIntervalMs: 250, handler: (e) => void delivered.push(e) }));
    const table = `log_${randomUUID().replace(/-/g, '')}`;
    await h.db.pool.query(eventLogTable(table));
    const runner = new ProjectionRunner(h.store, eventLogProjection({ name: table, table, types: [type] }), { pollIntervalMs: 250 });
    runners.push(runner);
    runner.start();
    return { delivered, projected: () => eventLogIds(h.db.pool, table) };
  }

  /** Opens a transaction that has an xid (it wrote a row) and is otherwise idle. */
  async function openWriter(db: TestDatabase): Promise<PoolClient> {
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await client.query('INSERT INTO unrelated VALUES (1)');
    const { rows } = await client.query<{ xid: string | null }>('SELECT pg_current_xact_id_if_assigned()::text AS xid');
    expect(rows[0].xid).not.toBeNull();
    return client;
  }

  const stillOpen = async (client: PoolClient) =>
    (await client.query<{ xid: string | null }>('SELECT pg_current_xact_id_if_assigned()::text AS xid')).rows[0].xid !== null;

  async function closeWriter(client: PoolClient, how: 'COMMIT' | 'ROLLBACK' = 'ROLLBACK'): Promise<void> {
    try {
      await client.query(how);
    } finally {
      client.release();
    }
  }

  /** Appends one event of `type` while `open` stays open, and waits (within HOLD_MS of `openedAt`) until both followers have it. */
  async function appendAndExpectDelivery(type: string, open: PoolClient, openedAt: number) {
    const { delivered, projected } = await followers(type);
    // Let the followers read at least once while the transaction is open.
    await sleep(500);
    const event = newEvent(type, { at: Date.now() });
    await h.store.append(stream(), [event]);
    await eventually(
      async () => {
        expect(delivered.map((e) => e.id)).toEqual([event.id]);
        expect(await projected()).toEqual([event.id]);
      },
      { timeoutMs: Math.max(1_000, openedAt + HOLD_MS - Date.now()), intervalMs: 50 },
    );
    // Delivered while the other transaction is still open.
    expect(await stillOpen(open)).toBe(true);
  }

  it('(a) a long transaction in another database of the server does not delay subscriptions or projections', async () => {
    const open = await openWriter(elsewhere);
    const openedAt = Date.now();
    try {
      await appendAndExpectDelivery(`Elsewhere-${randomUUID()}`, open, openedAt);
      const metrics = await h.store.holdBack();
      expect(metrics.heldBackEvents).toBe(0);
      expect(metrics.holdingTransaction).toBeUndefined();
    } finally {
      await closeWriter(open);
    }
  });

  it('(b) a long transaction in this database that appends nothing does not delay them either', async () => {
    const open = await openWriter(h.db);
    const openedAt = Date.now();
    try {
      // It even tried to append, and was refused: a refused append holds nothing back.
      const s = stream();
      await h.store.append(s, [newEvent('Existing', {})]);
      await expect(h.store.appendInTransaction(open, s, [newEvent('Refused', {})], { expectedVersion: 'no_stream' })).rejects.toMatchObject({
        name: 'ConcurrencyError',
      });
      await appendAndExpectDelivery(`Here-${randomUUID()}`, open, openedAt);
      const metrics = await h.store.holdBack();
      expect(metrics.heldBackEvents).toBe(0);
      expect(metrics.holdingTransaction).toBeUndefined();
    } finally {
      await closeWriter(open, 'COMMIT');
    }
  });

  it('(c) a transaction that appends late is read exactly once, after everything read before it appended', async () => {
    const type = `Late-${randomUUID()}`;
    const { delivered, projected } = await followers(type);
    const ids = () => delivered.map((e) => e.id);
    const late = await openWriter(h.db);
    let lateOpen = true;
    const openedAt = Date.now();
    try {
      // Others append and are read while the (older) transaction is open...
      const early = [newEvent(type, { n: 1 }), newEvent(type, { n: 2 }), newEvent(type, { n: 3 })];
      for (const event of early) await h.store.append(stream('early'), [event]);
      await eventually(() => expect(ids()).toEqual(early.map((e) => e.id)), { timeoutMs: Math.max(1_000, openedAt + HOLD_MS - Date.now()), intervalMs: 50 });
      expect(await stillOpen(late)).toBe(true);

      // ...then it appends: from now on it can append more, so readers wait for it.
      const lateStream = stream('late');
      const lateEvents = [newEvent(type, { late: 1 }), newEvent(type, { late: 2 })];
      const first = await h.store.appendInTransaction(late, lateStream, [lateEvents[0]]);
      const after = [newEvent(type, { n: 4 }), newEvent(type, { n: 5 })];
      for (const event of after) await h.store.append(stream('after'), [event]);
      await sleep(1_000);
      expect(ids()).toEqual(early.map((e) => e.id));
      const metrics = await h.store.holdBack();
      expect(metrics.heldBackEvents).toBeGreaterThanOrEqual(after.length);
      expect(metrics.horizonTransactionId).toBeLessThanOrEqual(first.position.transactionId);
      const { rows } = await late.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(metrics.holdingTransaction?.pid).toBe(rows[0].pid);

      // A second append of the same transaction keeps its place in the order.
      const second = await h.store.appendInTransaction(late, lateStream, [lateEvents[1]], { expectedVersion: 1 });
      expect(second.position.transactionId).toBe(first.position.transactionId);
      lateOpen = false;
      await closeWriter(late, 'COMMIT');

      const expected = [...early, ...lateEvents, ...after].map((e) => e.id);
      await eventually(() => expect(ids()).toEqual(expected), { timeoutMs: 20_000 });
      await eventually(async () => expect(await projected()).toEqual(expected), { timeoutMs: 20_000 });
      await sleep(500);
      expect(ids()).toEqual(expected);
      for (let i = 1; i < delivered.length; i++) expect(compareLogPositions(delivered[i - 1], delivered[i])).toBeLessThan(0);
      // The same order as a reader from the start gets.
      const all: RecordedEvent[] = [];
      for (let position = LOG_START; ; ) {
        const page = await h.store.readAll({ after: position, limit: 5, types: [type] });
        all.push(...page.events);
        position = page.next;
        if (page.caughtUp) break;
      }
      expect(all.map((e) => e.id)).toEqual(expected);
    } finally {
      if (lateOpen) await closeWriter(late);
    }
  });

  it('an append rolled back to a savepoint holds readers back no longer; a later append of that transaction takes a new place', async () => {
    const type = `Savepoint-${randomUUID()}`;
    const { delivered } = await followers(type);
    const ids = () => delivered.map((e) => e.id);
    const client = await h.db.pool.connect();
    const openedAt = Date.now();
    try {
      await client.query('BEGIN');
      await client.query('SAVEPOINT attempt');
      const undone = await h.store.appendInTransaction(client, stream('undone'), [newEvent(type, { undone: true })]);
      await client.query('ROLLBACK TO SAVEPOINT attempt');
      const other = newEvent(type, { n: 1 });
      await h.store.append(stream(), [other]);
      await eventually(() => expect(ids()).toEqual([other.id]), { timeoutMs: Math.max(1_000, openedAt + HOLD_MS - Date.now()), intervalMs: 50 });
      expect(await stillOpen(client)).toBe(true);

      const kept = newEvent(type, { kept: true });
      const result = await h.store.appendInTransaction(client, stream('kept'), [kept]);
      expect(result.position.transactionId).toBeGreaterThan(undone.position.transactionId);
      await client.query('COMMIT');
      await eventually(() => expect(ids()).toEqual([other.id, kept.id]), { timeoutMs: 20_000 });
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  });
});
