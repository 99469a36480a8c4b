import { ConcurrencyError, EventIdConflictError, type AppendResult } from '../src';
import { newEvent, storeDatabase, stream, type StoreDatabase } from './support/store-database';

jest.setTimeout(60_000);

/** The transactions the events of these streams were committed in. */
async function transactionsOf(h: StoreDatabase, streams: readonly string[]): Promise<number> {
  const { rows } = await h.db.pool.query<{ n: number }>('SELECT count(DISTINCT transaction_id)::int AS n FROM event_store.events WHERE stream_id = ANY($1)', [streams]);
  return rows[0].n;
}

describe('appends of concurrent callers share a commit (group commit, real PostgreSQL)', () => {
  let h: StoreDatabase;

  beforeAll(async () => {
    h = await storeDatabase('grouped', { poolSize: 12 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('8 writers x 40 appends: every append stored once, in order per stream, in fewer transactions than appends', async () => {
    const streams = Array.from({ length: 8 }, () => stream('writer'));
    await Promise.all(
      streams.map(async (s) => {
        for (let version = 0; version < 40; version++) {
          const result = await h.store.append(s, [newEvent('Counted', { version })], { expectedVersion: version });
          expect(result.streamVersion).toBe(version + 1);
        }
      }),
    );
    for (const s of streams) expect((await h.store.readStream<{ version: number }>(s)).map((e) => e.data.version)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    // Alone, each append is a transaction of its own: 320. Grouped, the 8 appends of a round share
    // one: 40, and a few more while the writers fall into step. A group sent before the callers it
    // released had appended again split every round in two (a group of 1, then 7): 80.
    expect(await transactionsOf(h, streams)).toBeLessThanOrEqual(48);
  });

  it('a refusal in a group is that append alone: the others of the group are stored', async () => {
    const [first, good, stale, also] = Array.from({ length: 4 }, () => stream('member'));
    await h.store.append(stale, [newEvent('Created', {})]);
    // The first goes at once; the three behind it go together.
    const results = await Promise.allSettled([
      h.store.append(first, [newEvent('Created', {})]),
      h.store.append(good, [newEvent('Created', {})], { expectedVersion: 'no_stream' }),
      h.store.append(stale, [newEvent('Renamed', {})], { expectedVersion: 0 }),
      h.store.append(also, [newEvent('Created', {})], { expectedVersion: 'no_stream' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    expect((results[1] as PromiseFulfilledResult<AppendResult>).value.position.transactionId).toBe((results[3] as PromiseFulfilledResult<AppendResult>).value.position.transactionId);
    expect(await h.store.streamVersion(stale)).toBe(1);
  });

  it('an event id stored before fails its own append, not its group', async () => {
    const reused = newEvent('Created', {});
    await h.store.append(stream('owner'), [reused]);
    const [first, other, thief] = Array.from({ length: 3 }, () => stream('member'));
    const results = await Promise.allSettled([
      h.store.append(first, [newEvent('Created', {})]),
      h.store.append(other, [newEvent('Created', {})]),
      h.store.append(thief, [{ ...reused }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(EventIdConflictError);
    expect(await h.store.streamVersion(other)).toBe(1);
  });

  it('a stream held by an open transaction holds back its own append only, not the group nor the appends after it', async () => {
    const held = stream('held');
    let commit!: () => void;
    const open = new Promise<void>((resolve) => (commit = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const transaction = h.store.transaction(async (tx) => {
      await tx.append(held, [newEvent('ByTheTransaction', {})]);
      locked();
      await open;
    });
    await holding;

    const [a, b, c, d] = Array.from({ length: 4 }, () => stream('free'));
    let heldDone = false;
    const heldAppend = h.store.append(held, [newEvent('ByTheCaller', {})]).finally(() => (heldDone = true));
    const grouped = await Promise.all([h.store.append(a, [newEvent('Created', {})]), h.store.append(b, [newEvent('Created', {})]), h.store.append(c, [newEvent('Created', {})])]);
    expect(grouped.map((r) => r.streamVersion)).toEqual([1, 1, 1]);
    // Later appends do not queue behind the held one either.
    expect((await h.store.append(d, [newEvent('Created', {})])).streamVersion).toBe(1);
    expect(heldDone).toBe(false);

    commit();
    await transaction;
    expect((await heldAppend).streamVersion).toBe(2);
    expect((await h.store.readStream(held)).map((e) => e.type)).toEqual(['ByTheTransaction', 'ByTheCaller']);
  });
});
