import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { eventually, sleep } from '@platform/testing';
import { compareLogPositions, ConcurrencyError, LOG_START, type AppendResult, type RecordedEvent } from '../src';
import { newEvent, storeDatabase, stream, type StoreDatabase } from './support/store-database';

jest.setTimeout(180_000);

interface Won {
  readonly writer: number;
  readonly expected: number;
  readonly result: AppendResult;
  readonly ids: readonly string[];
}

interface Lost {
  readonly writer: number;
  readonly error: unknown;
  readonly read: number;
}

describe('concurrent writers (property-based, real PostgreSQL)', () => {
  let h: StoreDatabase;

  beforeAll(async () => {
    h = await storeDatabase('concurrency', { poolSize: 24 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('50 writers on one stream: exactly one success per version, a gapless stream, typed refusals for the rest', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 50, maxLength: 50 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 50, maxLength: 50 }),
        async (batchSizes, delays) => {
          const s = stream('contended');
          const won: Won[] = [];
          const lost: Lost[] = [];
          // Each writer reads the version, then appends with it; a loser reads again and retries.
          await Promise.all(
            batchSizes.map(async (size, writer) => {
              for (;;) {
                const read = await h.store.streamVersion(s);
                await sleep(delays[writer]);
                const events = Array.from({ length: size }, (_, i) => newEvent('Written', { writer, i }));
                try {
                  const result = await h.store.append(s, events, { expectedVersion: read });
                  won.push({ writer, expected: read, result, ids: events.map((e) => e.id) });
                  return;
                } catch (error) {
                  lost.push({ writer, error, read });
                }
              }
            }),
          );

          const total = batchSizes.reduce((a, b) => a + b, 0);
          expect(won).toHaveLength(50);
          // One success per version: the successes' ranges tile 1..total without overlap.
          const ranges = won.map((w) => [w.expected, w.result.streamVersion]).sort((a, b) => a[0] - b[0]);
          let next = 0;
          for (const [from, to] of ranges) {
            expect(from).toBe(next);
            next = to;
          }
          expect(next).toBe(total);
          const stored = await h.store.readStream(s);
          expect(stored.map((e) => e.streamVersion)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
          for (const w of won) {
            expect(stored.slice(w.expected, w.result.streamVersion).map((e) => e.id)).toEqual(w.ids);
          }
          // Losers get the typed error with what they expected and a version the stream really had.
          const boundaries = new Set(won.map((w) => w.result.streamVersion));
          expect(lost.length).toBeGreaterThan(0);
          for (const l of lost) {
            expect(l.error).toBeInstanceOf(ConcurrencyError);
            const error = l.error as ConcurrencyError;
            expect(error.stream).toBe(s);
            expect(error.expected).toBe(l.read);
            expect(error.actual).toBeGreaterThan(l.read);
            expect(boundaries.has(error.actual)).toBe(true);
          }
        },
      ),
      { numRuns: 8 },
    );
  });

  it("racing 'any' appends keep every stream in version order within the global order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 20, max: 60 }), async (streamCount, appends) => {
        const streams = Array.from({ length: streamCount }, () => stream('racing'));
        const before = await readToEnd(h, LOG_START);
        // New streams, created and extended by racing writers, all at once: each transaction
        // must take its id after the stream's previous writer committed, or the global order
        // would put a later version first (and the append would fail with StreamOrderError).
        await Promise.all(
          Array.from({ length: appends }, (_, i) => h.store.append(streams[i % streamCount], [newEvent('Raced', { i }), newEvent('Raced', { i })])),
        );
        // Readers wait for transactions still appending (other tests' too): wait until ours are readable.
        const ours = await eventually(async () => {
          const all = await readToEnd(h, before.next);
          const mine = all.events.filter((e) => streams.includes(e.streamId));
          expect(mine).toHaveLength(appends * 2);
          return mine;
        });
        expect(new Set(ours.map((e) => e.id)).size).toBe(appends * 2);
        for (const s of streams) {
          const versions = ours.filter((e) => e.streamId === s).map((e) => e.streamVersion);
          expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
        }
      }),
      { numRuns: 10 },
    );
  });

  it('subscriptions following racing transactions (long, late, rolled back, with savepoints) deliver every committed event once, in order', async () => {
    await h.db.pool.query('CREATE TABLE IF NOT EXISTS side_writes (n integer)');
    const script = fc.record({
      /** Indexes into a few shared streams, appended to in this order. */
      streams: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }).map((a) => [...a].sort()),
      startMs: fc.integer({ min: 0, max: 40 }),
      betweenMs: fc.integer({ min: 0, max: 30 }),
      beforeCommitMs: fc.integer({ min: 0, max: 60 }),
      /** Writes a row elsewhere first: it has an xid long before it appends. */
      writesFirst: fc.boolean(),
      /** Its first append is in a savepoint that it rolls back. */
      undoesFirst: fc.boolean(),
      commits: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(script, { minLength: 4, maxLength: 14 }), async (scripts) => {
        const type = `Raced-${randomUUID()}`;
        const streams = Array.from({ length: 4 }, () => stream('followed'));
        const delivered: [RecordedEvent[], RecordedEvent[]] = [[], []];
        const subscriptions = [
          h.store.subscribe({ types: [type], batchSize: 2, pollIntervalMs: 100, handler: (e) => void delivered[0].push(e) }),
          h.store.subscribe({ types: [type], batchSize: 50, pollIntervalMs: 100, handler: (e) => void delivered[1].push(e) }),
        ];
        try {
          const committed: string[] = [];
          await Promise.all(
            scripts.map(async (t, n) => {
              await sleep(t.startMs);
              const client = await h.db.pool.connect();
              const mine: string[] = [];
              try {
                await client.query('BEGIN');
                if (t.writesFirst) await client.query('INSERT INTO side_writes VALUES ($1)', [n]);
                for (const [i, index] of t.streams.entries()) {
                  const events = [newEvent(type, { n, i }), newEvent(type, { n, i })];
                  if (i === 0 && t.undoesFirst) {
                    await client.query('SAVEPOINT first');
                    await h.store.appendInTransaction(client, streams[index], [newEvent(type, { n, undone: true })]);
                    await client.query('ROLLBACK TO SAVEPOINT first');
                  }
                  await h.store.appendInTransaction(client, streams[index], events);
                  mine.push(...events.map((e) => e.id));
                  await sleep(t.betweenMs);
                }
                await sleep(t.beforeCommitMs);
                await client.query(t.commits ? 'COMMIT' : 'ROLLBACK');
                if (t.commits) committed.push(...mine);
              } catch {
                // A StreamOrderError (it appended elsewhere before the stream's last writer): it rolls back.
                await client.query('ROLLBACK');
              } finally {
                client.release();
              }
            }),
          );
          const { rows } = await h.db.pool.query<{ event_id: string }>('SELECT event_id FROM event_store.events WHERE event_type = $1', [type]);
          expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(committed));
          // Every committed event reaches both, once, in the store's order; nothing rolled back does.
          const all = (await readToEnd(h, LOG_START)).events.filter((e) => e.type === type);
          expect(all.map((e) => e.id).sort()).toEqual([...committed].sort());
          for (const d of delivered) {
            await eventually(() => expect(d).toHaveLength(committed.length), { timeoutMs: 15_000 });
            expect(d.map((e) => e.id)).toEqual(all.map((e) => e.id));
          }
          for (const s of streams) {
            const versions = all.filter((e) => e.streamId === s).map((e) => e.streamVersion);
            expect(versions).toEqual(versions.map((_, i) => i + 1));
          }
        } finally {
          await Promise.all(subscriptions.map((sub) => sub.stop()));
        }
      }),
      { numRuns: 12 },
    );
  });
});

async function readToEnd(h: StoreDatabase, after: typeof LOG_START): Promise<{ events: RecordedEvent[]; next: typeof LOG_START }> {
  const events: RecordedEvent[] = [];
  let position = after;
  for (;;) {
    const page = await h.store.readAll({ after: position, limit: 1000 });
    for (const e of page.events) {
      if (events.length > 0) expect(compareLogPositions(events[events.length - 1], e)).toBeLessThan(0);
      events.push(e);
    }
    position = page.next;
    if (page.caughtUp) return { events, next: position };
  }
}
