import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { eventually, sleep } from '@platform/testing';
import { PostgresEventStore, type LogPosition, type RecordedEvent, type Subscription } from '../src';
import { newEvent, storeDatabase, stream, type StoreDatabase } from './support/store-database';

jest.setTimeout(60_000);

describe('catch-up subscriptions (real PostgreSQL)', () => {
  let h: StoreDatabase;
  // Another process's view of the same database: its own pool and store.
  let otherPool: Pool;
  let other: PostgresEventStore;
  const subscriptions: Subscription[] = [];

  const subscribe = (options: Parameters<PostgresEventStore['subscribe']>[0]) => {
    const subscription = h.store.subscribe(options);
    subscriptions.push(subscription);
    return subscription;
  };

  /**
   * Event types of one test: readers wait for transactions still appending, so another test's
   * events can become readable late, after this test's `from`; each test subscribes to its own
   * types only.
   */
  const typesOf = (...names: string[]) => names.map((name) => `${name}-${randomUUID()}`);

  /** The end of the readable global order now. */
  const end = async (): Promise<LogPosition> => {
    for (let page = await h.store.readAll({ limit: 10_000 }); ; page = await h.store.readAll({ after: page.next, limit: 10_000 })) {
      if (page.caughtUp) return page.next;
    }
  };

  beforeAll(async () => {
    h = await storeDatabase('subscriptions');
    otherPool = new Pool({ connectionString: h.db.url, max: 4 });
    other = new PostgresEventStore(otherPool);
  });
  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.stop()));
    other?.close();
    await otherPool?.end();
    await h?.close();
  });

  it('delivers every event after `from` once, in order, across pages, and only the requested types', async () => {
    const from = await end();
    const s = stream();
    const [wantedType, skippedType] = typesOf('Wanted', 'Skipped');
    const events = Array.from({ length: 23 }, (_, i) => newEvent(i % 3 === 0 ? skippedType : wantedType, { i }));
    for (let i = 0; i < events.length; i += 5) await h.store.append(s, events.slice(i, i + 5));
    const delivered: RecordedEvent[] = [];
    const subscription = subscribe({ from, batchSize: 4, types: [wantedType], handler: (e) => void delivered.push(e) });
    const wanted = events.filter((e) => e.type === wantedType).map((e) => e.id);
    await eventually(() => expect(delivered.map((e) => e.id)).toEqual(wanted));
    await sleep(500);
    expect(delivered).toHaveLength(wanted.length);
    expect(subscription.delivered).toBe(wanted.length);
    const [last] = await h.store.readStream(s, { backwards: true, limit: 1 });
    expect(subscription.position).toEqual({ transactionId: last.transactionId, globalPosition: last.globalPosition });
  });

  it('is woken by NOTIFY from another process’s append, long before its poll interval', async () => {
    const [notified] = typesOf('Notified');
    const delivered: string[] = [];
    subscribe({ from: await end(), pollIntervalMs: 60_000, types: [notified], handler: (e) => void delivered.push(e.id) });
    await sleep(300);
    const single = newEvent(notified, {});
    await other.append(stream(), [single]);
    await eventually(() => expect(delivered).toEqual([single.id]), { timeoutMs: 5_000 });
    // Appended inside a caller's transaction: the NOTIFY is sent by the commit.
    const inTx = newEvent(notified, {});
    const client = await otherPool.connect();
    try {
      await client.query('BEGIN');
      await other.appendInTransaction(client, stream(), [inTx]);
      await sleep(500);
      expect(delivered).toEqual([single.id]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await eventually(() => expect(delivered).toEqual([single.id, inTx.id]), { timeoutMs: 5_000 });
  });

  it('falls back to polling when no NOTIFY comes', async () => {
    const [silent] = typesOf('Silent');
    const delivered: string[] = [];
    subscribe({ from: await end(), pollIntervalMs: 300, types: [silent], handler: (e) => void delivered.push(e.id) });
    const event = newEvent(silent, {});
    // The SQL function itself, without p_notify: nobody is told.
    await otherPool.query('SELECT * FROM event_store.append_to_stream($1, -1, $2)', [stream(), JSON.stringify([{ id: event.id, type: event.type, data: {} }])]);
    await eventually(() => expect(delivered).toEqual([event.id]), { timeoutMs: 5_000 });
  });

  it('stops: nothing is delivered after stop() resolves', async () => {
    const [before, after] = typesOf('Before', 'After');
    const delivered: string[] = [];
    const subscription = subscribe({ from: await end(), pollIntervalMs: 100, types: [before, after], handler: (e) => void delivered.push(e.id) });
    const first = newEvent(before, {});
    await h.store.append(stream(), [first]);
    await eventually(() => expect(delivered).toEqual([first.id]));
    await subscription.stop();
    await expect(subscription.ended).resolves.toEqual({ reason: 'stopped' });
    await h.store.append(stream(), [newEvent(after, {})]);
    await sleep(500);
    expect(delivered).toEqual([first.id]);
  });

  it('ends with the error when the handler throws, never skipping the event; a resubscription starts at it', async () => {
    const from = await end();
    const s = stream();
    const types = typesOf('Ok', 'Poison', 'After');
    const [ok, poison, after] = types.map((type) => newEvent(type, {}));
    await h.store.append(s, [ok, poison, after]);
    const delivered: string[] = [];
    const failing = subscribe({
      from,
      types,
      handler: (e) => {
        if (e.type === poison.type) throw new Error('cannot handle poison');
        delivered.push(e.id);
      },
    });
    const ended = await failing.ended;
    expect(ended).toMatchObject({ reason: 'failed', error: new Error('cannot handle poison'), event: { id: poison.id } });
    expect(delivered).toEqual([ok.id]);
    const [okRecorded] = await h.store.readStream(s, { limit: 1 });
    expect(failing.position).toEqual({ transactionId: okRecorded.transactionId, globalPosition: okRecorded.globalPosition });

    const resumed: string[] = [];
    subscribe({ from: failing.position, types, handler: (e) => void resumed.push(e.id) });
    await eventually(() => expect(resumed).toEqual([poison.id, after.id]));
  });
});
