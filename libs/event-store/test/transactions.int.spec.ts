import { withTransaction, type SqlClient } from '@platform/core';
import { CommandHandler, StreamOrderError, type AppendResult } from '../src';
import { counter } from './conformance/counter.decider';
import { newEvent, storeDatabase, stream, type StoreDatabase } from './support/store-database';

jest.setTimeout(60_000);

/** Stands in for the messaging outbox: a row the caller writes in the append's transaction. */
const writeOutboxRow = (tx: SqlClient, eventId: string) => tx.query('INSERT INTO outbox_rows (event_id) VALUES ($1)', [eventId]);

describe('appending inside a caller’s transaction (real PostgreSQL)', () => {
  let h: StoreDatabase;

  const outboxHas = async (eventId: string) => (await h.db.pool.query('SELECT 1 FROM outbox_rows WHERE event_id = $1', [eventId])).rowCount === 1;

  beforeAll(async () => {
    h = await storeDatabase('transactions');
    await h.db.pool.query('CREATE TABLE outbox_rows (event_id uuid PRIMARY KEY)');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('appendInTransaction commits together with the caller’s own write', async () => {
    const s = stream();
    const event = newEvent('Created', { n: 1 });
    await withTransaction(h.db.pool, async (tx) => {
      await h.store.appendInTransaction(tx, s, [event], { expectedVersion: 'no_stream' });
      await writeOutboxRow(tx, event.id);
      // Not visible outside the transaction before it commits.
      expect(await h.store.streamVersion(s)).toBe(0);
    });
    expect(await h.store.streamVersion(s)).toBe(1);
    expect(await outboxHas(event.id)).toBe(true);
  });

  it('appendInTransaction rolls back together with the caller’s own write', async () => {
    const s = stream();
    const event = newEvent('Created', { n: 1 });
    await expect(
      withTransaction(h.db.pool, async (tx) => {
        await h.store.appendInTransaction(tx, s, [event]);
        await writeOutboxRow(tx, event.id);
        throw new Error('the use case failed after appending');
      }),
    ).rejects.toThrow('the use case failed');
    expect(await h.store.streamVersion(s)).toBe(0);
    expect(await outboxHas(event.id)).toBe(false);
    // The ids are free again: nothing of the rolled-back append remains.
    expect((await h.store.append(s, [event])).replayed).toBe(false);
  });

  it('store.transaction() hands out the transaction: append and the caller’s write commit or roll back as one', async () => {
    const committed = newEvent('Created', {});
    const s = stream();
    await h.store.transaction(async (tx) => {
      await tx.append(s, [committed], { expectedVersion: 'no_stream' });
      await writeOutboxRow(tx.sql, committed.id);
    });
    expect(await h.store.streamVersion(s)).toBe(1);
    expect(await outboxHas(committed.id)).toBe(true);

    const rolledBack = newEvent('Updated', {});
    await expect(
      h.store.transaction(async (tx) => {
        await tx.append(s, [rolledBack], { expectedVersion: 1 });
        await writeOutboxRow(tx.sql, rolledBack.id);
        // The outbox row conflicts: the whole transaction, append included, rolls back.
        await writeOutboxRow(tx.sql, rolledBack.id);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await h.store.streamVersion(s)).toBe(1);
    expect(await outboxHas(rolledBack.id)).toBe(false);
  });

  it('a refused append leaves the caller’s transaction usable', async () => {
    const s = stream();
    await h.store.append(s, [newEvent('Created', {})]);
    const other = newEvent('Other', {});
    await withTransaction(h.db.pool, async (tx) => {
      await expect(h.store.appendInTransaction(tx, s, [newEvent('Late', {})], { expectedVersion: 'no_stream' })).rejects.toMatchObject({
        name: 'ConcurrencyError',
        actual: 1,
      });
      await writeOutboxRow(tx, other.id);
    });
    expect(await outboxHas(other.id)).toBe(true);
  });

  it('a command handler writes through the caller’s transaction: events and outbox rows together', async () => {
    const s = stream('counter');
    const handler = new CommandHandler(h.store, counter, { snapshots: { every: 1, schemaVersion: 1 } });
    const result = await withTransaction(h.db.pool, async (tx) => {
      const handled = await handler.handle(s, { add: 3 }, { writer: h.store.inTransaction(tx) });
      for (const event of handled.events) await writeOutboxRow(tx, event.id);
      return handled;
    });
    expect(await outboxHas(result.events[0].id)).toBe(true);
    expect(await h.store.readSnapshot(s)).toMatchObject({ streamVersion: 1, state: { total: 3 } });

    await expect(
      withTransaction(h.db.pool, async (tx) => {
        await handler.handle(s, { add: 4 }, { writer: h.store.inTransaction(tx) });
        throw new Error('publishing failed');
      }),
    ).rejects.toThrow('publishing failed');
    expect(await handler.load(s)).toMatchObject({ version: 1, state: { total: 3 } });
    // The snapshot was written in the rolled-back transaction too: it is gone with it.
    expect(await h.store.readSnapshot(s)).toMatchObject({ streamVersion: 1 });
  });

  it('a command in a transaction reads through that transaction: it needs one connection, not two', async () => {
    // With one connection, a handler that loaded through the pool while its transaction held
    // the only connection would wait forever; under load the same happens with any pool size.
    const tight = await storeDatabase('one_connection', { poolSize: 1 });
    try {
      const s = stream('counter');
      const handler = new CommandHandler(tight.store, counter, { snapshots: { every: 2, schemaVersion: 1 } });
      for (const add of [1, 2, 3]) {
        const done = withTransaction(tight.db.pool, (tx) => handler.handle(s, { add }, { writer: tight.store.inTransaction(tx) }));
        const stuck = new Promise((_, reject) => setTimeout(() => reject(new Error('the command waited for a second connection')), 5000));
        await Promise.race([done, stuck]);
      }
      expect(await handler.load(s)).toMatchObject({ version: 3, state: { total: 6 } });
    } finally {
      await tight.close();
    }
  });

  it('refuses to append inside a REPEATABLE READ transaction (its reads could not see the latest version)', async () => {
    const client = await h.db.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await expect(h.store.appendInTransaction(client, stream(), [newEvent('A', {})])).rejects.toMatchObject({
        code: '0A000',
        message: expect.stringContaining('needs READ COMMITTED'),
      });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('refuses an append from a transaction that took its place before the stream’s last writer (it would break the global order)', async () => {
    const s = stream();
    await h.store.append(s, [newEvent('Created', {})]);
    const client = await h.db.pool.connect();
    try {
      await client.query('BEGIN');
      // This transaction takes its place in the global order now, by appending elsewhere...
      const elsewhere = await h.store.appendInTransaction(client, stream('elsewhere'), [newEvent('Elsewhere', {})]);
      // ...then a newer transaction appends to the stream and commits...
      const updated = await h.store.append(s, [newEvent('Updated', {})], { expectedVersion: 1 });
      expect(updated.position.transactionId).toBeGreaterThan(elsewhere.position.transactionId);
      // ...so events appended now would sort before that one although they follow it.
      const error = await h.store.appendInTransaction(client, s, [newEvent('Late', {})], { expectedVersion: 2 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamOrderError);
      expect(error).toMatchObject({ stream: s, retriable: true });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    // Retried in a new transaction, it goes through.
    await withTransaction(h.db.pool, (tx) => h.store.appendInTransaction(tx, s, [newEvent('Late', {})], { expectedVersion: 2 }));
    expect((await h.store.readStream(s)).map((e) => e.type)).toEqual(['Created', 'Updated', 'Late']);
  });

  it('a transaction that wrote elsewhere first takes its place when it appends: no StreamOrderError, the stream stays in order', async () => {
    const s = stream();
    await h.store.append(s, [newEvent('Created', {})]);
    let late: AppendResult | undefined;
    await withTransaction(h.db.pool, async (tx) => {
      // It has had an xid since this write, before the next writer of the stream...
      await writeOutboxRow(tx, newEvent('Unrelated', {}).id);
      await h.store.append(s, [newEvent('Updated', {})], { expectedVersion: 1 });
      // ...but its place in the store's order is taken by its first append, after that writer's.
      late = await h.store.appendInTransaction(tx, s, [newEvent('Late', {})], { expectedVersion: 2 });
    });
    const stored = await h.store.readStream(s);
    expect(stored.map((e) => e.type)).toEqual(['Created', 'Updated', 'Late']);
    expect(late?.position.transactionId).toBeGreaterThan(stored[1].transactionId);
  });
});
