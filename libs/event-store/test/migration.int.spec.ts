import { applySqlMigrations, createTestDatabase, eventually, sleep, type TestDatabase } from '@platform/testing';
import { EVENT_STORE_MIGRATIONS, LOG_START, PostgresEventStore, ProjectionRunner, type LogPosition, type RecordedEvent } from '../src';
import { eventLogIds, eventLogProjection, eventLogTable } from './fixtures/event-log.projection';
import { newEvent, stream } from './support/store-database';

jest.setTimeout(60_000);

const TRANSACTION_ID_BASE = 2 ** 52;

describe('migrating a store whose events are ordered by xid (real PostgreSQL)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('es_migration', { poolSize: 6 });
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => {
    store?.close();
    await db?.drop();
  });

  const readFrom = async (after: LogPosition): Promise<RecordedEvent[]> => {
    const events: RecordedEvent[] = [];
    for (let position = after; ; ) {
      const page = await store.readAll({ after: position, limit: 3 });
      events.push(...page.events);
      position = page.next;
      if (page.caughtUp) return events;
    }
  };

  it('keeps old events and checkpoints in their order, before every new event; refuses xid-ordered inserts', async () => {
    const [first, second] = [EVENT_STORE_MIGRATIONS.slice(0, 2), EVENT_STORE_MIGRATIONS.slice(2)];
    expect(first.map((m) => m.id)).toEqual(['1765000000000-event-store-tables', '1765000000001-event-store-append-function']);
    await applySqlMigrations(db.pool, first);

    // Appended by the first version of the function: ordered by their transactions' xids.
    const s = stream('old');
    const old = Array.from({ length: 5 }, (_, i) => newEvent('Old', { i }));
    for (const event of old) await store.append(s, [event]);
    const stored = await store.readStream(s);
    expect(stored.every((e) => e.transactionId < TRANSACTION_ID_BASE)).toBe(true);
    // A projection that has handled the first two of them.
    await db.pool.query(eventLogTable('upgraded_log'));
    await db.pool.query('INSERT INTO upgraded_log (event_id, global_position) VALUES ($1, $2), ($3, $4)', [
      stored[0].id,
      stored[0].globalPosition,
      stored[1].id,
      stored[1].globalPosition,
    ]);
    await db.pool.query(`INSERT INTO event_store.projections (name, transaction_id, global_position) VALUES ('upgraded-log', $1::xid8, $2)`, [
      String(stored[1].transactionId),
      stored[1].globalPosition,
    ]);

    // An append in flight when the migration starts: the migration waits for it.
    const inFlight = await db.pool.connect();
    const pending = newEvent('Old', { inFlight: true });
    let migrated = false;
    let migration: Promise<void>;
    try {
      await inFlight.query('BEGIN');
      await store.appendInTransaction(inFlight, s, [pending], { expectedVersion: old.length });
      migration = applySqlMigrations(db.pool, second).then(() => void (migrated = true));
      await sleep(500);
      expect(migrated).toBe(false);
      await inFlight.query('COMMIT');
    } finally {
      inFlight.release();
    }
    await migration;

    // New appends take store ids, above every xid.
    const fresh = [newEvent('New', { i: 1 }), newEvent('New', { i: 2 })];
    const appended = await store.append(s, [fresh[0]]);
    expect(appended.position.transactionId).toBeGreaterThanOrEqual(TRANSACTION_ID_BASE);
    await store.append(stream('new'), [fresh[1]]);

    // The whole order: the old events as before, then the new ones.
    const expected = [...old, pending, ...fresh].map((e) => e.id);
    expect((await readFrom(LOG_START)).map((e) => e.id)).toEqual(expected);
    expect((await store.readStream(s)).map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7]);

    // The stored checkpoint resumes where it was: nothing skipped, nothing applied twice.
    const runner = new ProjectionRunner(store, eventLogProjection({ name: 'upgraded-log', table: 'upgraded_log', types: ['Old', 'New'] }), { pollIntervalMs: 100 });
    runner.start();
    try {
      await eventually(async () => expect(await eventLogIds(db.pool, 'upgraded_log')).toEqual(expected));
    } finally {
      await runner.stop();
    }

    // An insert ordered by its xid, as a call of the old function still running would make, is refused.
    await expect(
      db.pool.query(
        `INSERT INTO event_store.events (transaction_id, stream_id, stream_version, event_id, event_type, data)
         VALUES (pg_current_xact_id(), $1, 1, $2, 'Old', '{}')`,
        [stream('stale'), newEvent('Old', {}).id],
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'events_transaction_id_from_store' });

    // Run again (they are re-runnable), the migrations change nothing.
    await applySqlMigrations(db.pool, EVENT_STORE_MIGRATIONS);
    const again = await store.append(stream('again'), [newEvent('New', { i: 3 })]);
    expect(again.position.transactionId).toBeGreaterThan(appended.position.transactionId);
    expect((await readFrom(LOG_START)).map((e) => e.id).slice(0, expected.length)).toEqual(expected);
  });
});
