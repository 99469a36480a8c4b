import { randomUUID } from 'node:crypto';
import { eventually, sleep } from '@platform/testing';
import {
  CommandHandler,
  ConcurrencyError,
  EVENT_STORE_METRICS,
  PostgresEventStore,
  type Decider,
  type LogPosition,
  type RecordedEvent,
  type Subscription,
} from '../src';
import { newEvent, storeDatabase, stream, type StoreDatabase } from './support/store-database';

jest.setTimeout(60_000);

/** A ledger whose books can be closed: `BooksOpened` carries the whole state (an opening balance). */
type LedgerEvent = { readonly type: 'Added'; readonly data: { readonly n: number } } | { readonly type: 'BooksOpened'; readonly data: LedgerState };
interface LedgerState {
  readonly total: number;
  readonly entries: number;
}
const ledger: Decider<{ add: number }, LedgerEvent, LedgerState> = {
  initialState: () => ({ total: 0, entries: 0 }),
  evolve: (state, event) => (event.type === 'BooksOpened' ? event.data : { total: state.total + event.data.n, entries: state.entries + 1 }),
  decide: (command) => [{ type: 'Added', data: { n: command.add } }],
};
const opening = (state: LedgerState): LedgerEvent => ({ type: 'BooksOpened', data: state });

describe('closing the books of a stream (real PostgreSQL)', () => {
  let h: StoreDatabase;
  const subscriptions: Subscription[] = [];

  beforeAll(async () => {
    h = await storeDatabase('closed_books');
  });
  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.stop()));
    await h?.close();
  });

  /** The end of the readable global order now. */
  const end = async (): Promise<LogPosition> => {
    for (let page = await h.store.readAll({ limit: 10_000 }); ; page = await h.store.readAll({ after: page.next, limit: 10_000 })) {
      if (page.caughtUp) return page.next;
    }
  };

  it('continues the aggregate from the summary, keeps versions, and moves the old events to the archive', async () => {
    const s = stream('ledger');
    const handler = new CommandHandler(h.store, ledger, { snapshots: { every: 4, schemaVersion: 1 } });
    for (let n = 1; n <= 10; n++) await handler.handle(s, { add: n });
    expect(await h.store.readSnapshot(s)).toBeDefined();

    const closed = await handler.closeBooks(s, opening, { expectedVersion: 10 });
    expect(closed).toMatchObject({ openedAt: 11, archived: 10 });
    // The snapshot predates the summary: gone, so loads start at the summary.
    expect(await h.store.readSnapshot(s)).toBeUndefined();

    const open = await h.store.readStream(s);
    expect(open.map((e) => [e.streamVersion, e.type])).toEqual([[11, 'BooksOpened']]);
    expect(open[0].data).toEqual({ total: 55, entries: 10 });
    const loaded = await handler.load(s);
    expect(loaded).toMatchObject({ state: { total: 55, entries: 10 }, version: 11, eventsReplayed: 1 });

    // Commands go on from the summary; an If-Match from before the closing is stale.
    const after = await handler.handle(s, { add: 100 }, { expectedVersion: 11 });
    expect(after).toMatchObject({ state: { total: 155, entries: 11 }, version: 12 });
    await expect(handler.handle(s, { add: 1 }, { expectedVersion: 10 })).rejects.toBeInstanceOf(ConcurrencyError);
    // Version 12 is a multiple of the snapshot interval: snapshots go on after the closing.
    expect(await handler.load(s)).toMatchObject({ state: { total: 155, entries: 11 }, version: 12, snapshotVersion: 12, eventsReplayed: 0 });

    // The closed books stay readable, alone or with the open ones, in version order either way.
    const archived = await h.store.readStream(s, { books: 'closed' });
    expect(archived.map((e) => e.streamVersion)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(archived.map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    const all = await h.store.readStream(s, { books: 'all' });
    expect(all.map((e) => e.streamVersion)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect((await h.store.readStream(s, { books: 'all', backwards: true, limit: 3 })).map((e) => e.streamVersion)).toEqual([12, 11, 10]);
    expect((await h.store.readStream(s, { books: 'all', from: 9, limit: 3 })).map((e) => e.streamVersion)).toEqual([9, 10, 11]);
    expect(await h.store.streamVersion(s)).toBe(12);
    const { rows } = await h.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM event_store.events WHERE stream_id = $1', [s]);
    expect(Number(rows[0].n)).toBe(2);

    // Closing again archives the first summary too; the state still adds up.
    await handler.closeBooks(s, opening);
    expect(await handler.load(s)).toMatchObject({ state: { total: 155, entries: 11 }, version: 13, eventsReplayed: 1 });
    expect((await h.store.readStream(s, { books: 'closed' })).map((e) => e.streamVersion)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('keeps the global order: a subscription that was behind, and one started later, see every event once, in order', async () => {
    const from = await end();
    const s = stream('ledger');
    const other = stream('other');
    const type = `Added-${randomUUID()}`;
    const before = Array.from({ length: 12 }, (_, i) => newEvent(type, { n: i }));
    for (let i = 0; i < before.length; i += 2) {
      await h.store.append(s, [before[i]]);
      await h.store.append(other, [before[i + 1]]);
    }
    // Behind: it has read a few pages of `before` and is slow.
    const slow: RecordedEvent[] = [];
    const behind = h.store.subscribe({ from, batchSize: 2, handler: async (e) => void (slow.push(e), await sleep(20)) });
    subscriptions.push(behind);
    await eventually(() => expect(slow.length).toBeGreaterThanOrEqual(2));

    const closed = await h.store.closeBooks(s, (openBooks) => newEvent('BooksOpened', { events: openBooks.length }));
    expect(closed.archived).toBe(6);
    const later = [newEvent(type, { n: 'later' })];
    await h.store.append(s, later);

    const expected = [...before.map((e) => e.id), '(summary)', later[0].id];
    const ids = (events: RecordedEvent[]) => events.filter((e) => e.streamId === s || e.streamId === other).map((e) => (e.type === 'BooksOpened' ? '(summary)' : e.id));
    await eventually(() => expect(ids(slow)).toEqual(expected), { timeoutMs: 20_000 });

    const fresh: RecordedEvent[] = [];
    subscriptions.push(h.store.subscribe({ from, batchSize: 5, handler: (e) => void fresh.push(e) }));
    await eventually(() => expect(ids(fresh)).toEqual(expected));
    await sleep(300);
    expect(ids(slow)).toEqual(expected);
    expect(ids(fresh)).toEqual(expected);
    // In the global order's own terms: strictly increasing positions, archived events where they were.
    const positions = fresh.map((e) => [e.transactionId, e.globalPosition]);
    expect([...positions].sort((a, b) => a[0] - b[0] || a[1] - b[1])).toEqual(positions);
    expect(new Set(fresh.map((e) => e.id)).size).toBe(fresh.length);
  });

  it('serializes appends with the closing: one waiting on it is refused at its stale version or goes after the summary, none is lost', async () => {
    const handler = new CommandHandler(h.store, ledger);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // A closing that waits inside its summary (holding the stream's lock) while appends race it.
    const s2 = stream('ledger');
    for (let n = 1; n <= 3; n++) await handler.handle(s2, { add: n });
    let inside!: () => void;
    const isInside = new Promise<void>((resolve) => (inside = resolve));
    const slowClosing = h.store.closeBooks(s2, async (openBooks) => {
      inside();
      await held;
      return newEvent('BooksOpened', { total: 6, entries: openBooks.length });
    });
    await isInside;
    const stale = h.store.append(s2, [newEvent('Added', { n: 1000 })], { expectedVersion: 3 }).catch((error: unknown) => error);
    const anyVersion = newEvent('Added', { n: 10 });
    const serialized = h.store.append(s2, [anyVersion]);
    const command = handler.handle(s2, { add: 20 }, { expectedVersion: 3 }).catch((error: unknown) => error);
    await sleep(300);
    release();
    await expect(slowClosing).resolves.toMatchObject({ openedAt: 4, archived: 3 });
    expect(await stale).toBeInstanceOf(ConcurrencyError);
    expect(await command).toBeInstanceOf(ConcurrencyError);
    await expect(serialized).resolves.toMatchObject({ streamVersion: 5 });
    const all = await h.store.readStream(s2, { books: 'all' });
    expect(all.map((e) => [e.streamVersion, e.type])).toEqual([
      [1, 'Added'],
      [2, 'Added'],
      [3, 'Added'],
      [4, 'BooksOpened'],
      [5, 'Added'],
    ]);
    expect(all[4].id).toBe(anyVersion.id);
    expect(await handler.load(s2)).toMatchObject({ state: { total: 16, entries: 4 }, version: 5 });
  });

  it('waits for an append holding the stream and summarizes it', async () => {
    const s = stream('ledger');
    const handler = new CommandHandler(h.store, ledger);
    await handler.handle(s, { add: 1 });
    const tx = await h.db.pool.connect();
    try {
      await tx.query('BEGIN');
      await h.store.appendInTransaction(tx, s, [newEvent('Added', { n: 2 })], { expectedVersion: 1 });
      let done = false;
      const closing = handler.closeBooks(s, opening).then((closed) => ((done = true), closed));
      await sleep(300);
      expect(done).toBe(false);
      await tx.query('COMMIT');
      await expect(closing).resolves.toMatchObject({ openedAt: 3, archived: 2 });
    } finally {
      tx.release();
    }
    expect((await handler.load(s)).state).toEqual({ total: 3, entries: 2 });
  });

  it('refuses a closing at another version than expected, and of a stream without events', async () => {
    const s = stream('ledger');
    await h.store.append(s, [newEvent('Added', { n: 1 })]);
    await expect(h.store.closeBooks(s, () => newEvent('BooksOpened', {}), { expectedVersion: 2 })).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(h.store.closeBooks(stream('empty'), () => newEvent('BooksOpened', {}))).rejects.toThrow(/no events/);
    expect(await h.store.readStream(s, { books: 'closed' })).toEqual([]);
  });
});

describe('stream length warning (real PostgreSQL)', () => {
  let h: StoreDatabase;
  let store: PostgresEventStore;
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  let crossings = 0;

  beforeAll(async () => {
    h = await storeDatabase('stream_length');
    const logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields }) };
    const metrics = {
      counter: (family: { name: string }) => ({ inc: () => void (family.name === EVENT_STORE_METRICS.streamLengthCrossings.name && (crossings += 1)) }),
      histogram: () => ({ observe: () => undefined }),
      collect: () => () => undefined,
    };
    store = new PostgresEventStore(h.db.pool, { logger, metrics, streamLengthWarning: 5 });
  });
  afterAll(async () => {
    store?.close();
    await h?.close();
  });

  const add = (count: number) => Array.from({ length: count }, (_, i) => newEvent('Added', { n: i }));

  it('warns and counts once per crossing of the length, over every way of appending, and starts over after closing the books', async () => {
    const s = stream('long');
    await store.append(s, add(4));
    expect(warnings).toHaveLength(0);
    await store.append(s, add(1));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].fields).toMatchObject({ stream: s, length: 5, limit: 5 });
    expect(crossings).toBe(1);
    await store.append(s, add(1));
    await store.transaction((tx) => tx.append(s, add(3)));
    expect(warnings).toHaveLength(1);
    // The next multiple, inside a caller's transaction.
    const tx = await h.db.pool.connect();
    try {
      await tx.query('BEGIN');
      await store.appendInTransaction(tx, s, add(1));
      await tx.query('COMMIT');
    } finally {
      tx.release();
    }
    expect(warnings).toHaveLength(2);
    expect(warnings[1].fields).toMatchObject({ length: 10 });
    expect(crossings).toBe(2);

    // Closed at version 10: the open books are the summary alone, so the next warning comes at version 15.
    await store.closeBooks(s, () => newEvent('BooksOpened', {}));
    await store.append(s, add(3));
    expect(warnings).toHaveLength(2);
    await store.append(s, add(1));
    expect(warnings).toHaveLength(3);
    expect(warnings[2].fields).toMatchObject({ length: 5, openedAtVersion: 11 });
    expect(crossings).toBe(3);
  });

  it('does not warn falsely when another process closed the books', async () => {
    const s = stream('long');
    await store.append(s, add(5));
    expect(warnings.filter((w) => w.fields?.stream === s)).toHaveLength(1);
    await store.append(s, add(3));
    // Another store (another process) closes the books at version 8: this one still remembers 1.
    await h.store.closeBooks(s, () => newEvent('BooksOpened', {}));
    await store.append(s, add(1));
    // By the old start the length would be 10, a crossing; the start is read again and it is 2.
    expect(warnings.filter((w) => w.fields?.stream === s)).toHaveLength(1);
    await store.append(s, add(3));
    expect(warnings.filter((w) => w.fields?.stream === s)).toHaveLength(2);
    expect(warnings.filter((w) => w.fields?.stream === s)[1].fields).toMatchObject({ length: 5, openedAtVersion: 9 });
  });

  it('refuses a limit below one', () => {
    expect(() => new PostgresEventStore(h.db.pool, { streamLengthWarning: 0 })).toThrow(RangeError);
  });
});
