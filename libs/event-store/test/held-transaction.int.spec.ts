import { eventually, sleep } from '@platform/testing';
import { compareLogPositions, LOG_START, type LogPosition, type RecordedEvent, type Subscription } from '../src';
import { newEvent, storeDatabase, stream, type StoreDatabase } from './support/store-database';

jest.setTimeout(120_000);

const HOLD_MS = 10_000;

describe('gap-safe global order: a transaction held open for 10 s (real PostgreSQL)', () => {
  let h: StoreDatabase;
  let subscription: Subscription | undefined;

  beforeAll(async () => {
    h = await storeDatabase('held_tx', { poolSize: 12 });
  });
  afterAll(async () => {
    await subscription?.stop();
    await h?.close();
  });

  it('the subscriber waits for the held transaction, then delivers every event exactly once, in the store’s order', async () => {
    const delivered: RecordedEvent[] = [];
    subscription = h.store.subscribe({ batchSize: 4, pollIntervalMs: 250, handler: (event) => void delivered.push(event) });
    const [heldStream, ...others] = [stream('held'), stream('a'), stream('b')];

    const before = [newEvent('Before', { n: 1 }), newEvent('Before', { n: 2 }), newEvent('Before', { n: 3 })];
    await h.store.append(heldStream, [before[0]]);
    await h.store.append(others[0], [before[1]]);
    await h.store.append(others[1], [before[2]]);
    await eventually(() => expect(delivered.map((e) => e.id)).toEqual(before.map((e) => e.id)));

    const held = await h.db.pool.connect();
    const later: string[] = [];
    let heldPosition: LogPosition;
    const heldEvent = newEvent('Held', { n: 0 });
    try {
      await held.query('BEGIN');
      heldPosition = (await h.store.appendInTransaction(held, heldStream, [heldEvent])).position;
      const startedAt = Date.now();
      for (let round = 0; Date.now() - startedAt < HOLD_MS; round++) {
        // Other transactions append and commit meanwhile, some of them several events at once.
        for (const s of [others[round % 2], stream('later')]) {
          const events = Array.from({ length: 1 + (round % 3) }, (_, i) => newEvent('Later', { round, i }));
          await h.store.append(s, events);
          later.push(...events.map((e) => e.id));
        }
        await sleep(400);
        // The subscriber waits: nothing committed after the held transaction began is delivered.
        expect(delivered).toHaveLength(before.length);
      }

      // A reader checkpointing the highest position it has seen would have skipped the held event.
      const naive = await h.db.pool.query<{ global_position: string; event_id: string }>(
        'SELECT global_position, event_id FROM event_store.events WHERE global_position > $1 ORDER BY global_position',
        [delivered[delivered.length - 1].globalPosition],
      );
      expect(naive.rows.map((r) => r.event_id)).toEqual(later);
      expect(Math.max(...naive.rows.map((r) => Number(r.global_position)))).toBeGreaterThan(heldPosition.globalPosition);

      // A reader after the delivered events gets nothing yet, and is told events wait behind the horizon.
      const waiting = await h.store.readAll({ after: delivered[delivered.length - 1] });
      expect(waiting).toMatchObject({ events: [], caughtUp: true, heldBack: true });

      const metrics = await h.store.holdBack();
      expect(metrics.heldBackEvents).toBeGreaterThanOrEqual(later.length);
      expect(metrics.heldBackMs).toBeGreaterThan(HOLD_MS - 2_000);
      expect(metrics.horizonTransactionId).toBeLessThanOrEqual(heldPosition.transactionId);
      expect(metrics.holdingTransaction?.ageMs).toBeGreaterThan(HOLD_MS - 1_000);

      await held.query('COMMIT');
    } catch (error) {
      await held.query('ROLLBACK');
      throw error;
    } finally {
      held.release();
    }

    const expectedCount = before.length + 1 + later.length;
    await eventually(() => expect(delivered).toHaveLength(expectedCount), { timeoutMs: 30_000 });
    await sleep(1_000);
    await subscription.stop();

    // Exactly once...
    expect(delivered).toHaveLength(expectedCount);
    expect(new Set(delivered.map((e) => e.id)).size).toBe(expectedCount);
    expect(new Set(delivered.map((e) => e.id))).toEqual(new Set([...before.map((e) => e.id), heldEvent.id, ...later]));
    // ...in the store's consistent order, which is what readAll returns from the start...
    const all: RecordedEvent[] = [];
    for (let position = LOG_START; ; ) {
      const page = await h.store.readAll({ after: position, limit: 7 });
      all.push(...page.events);
      position = page.next;
      if (page.caughtUp) break;
    }
    expect(delivered.map((e) => e.id)).toEqual(all.map((e) => e.id));
    for (let i = 1; i < delivered.length; i++) expect(compareLogPositions(delivered[i - 1], delivered[i])).toBeLessThan(0);
    // ...with the held event right after the events committed before it began, ahead of the later ones.
    expect(delivered[before.length].id).toBe(heldEvent.id);
    for (const s of [heldStream, ...others]) {
      const versions = delivered.filter((e) => e.streamId === s).map((e) => e.streamVersion);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
    }
  });
});
