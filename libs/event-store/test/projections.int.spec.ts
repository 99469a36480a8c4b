import { eventually, sleep } from '@platform/testing';
import { compareLogPositions, ProjectionFailedError, ProjectionRunner, type ProjectionProgress, type RecordedEvent } from '../src';
import { expectedSummary } from './fixtures/api-events';
import { allEvents, apiWorkload } from './fixtures/api-workload';
import { eventLogIds, eventLogProjection, eventLogTable } from './fixtures/event-log.projection';
import { OWNER_SUMMARY_TABLES, ownerSummaryProjection, readOwnerSummary } from './fixtures/owner-summary.projection';
import { newEvent, storeDatabase, stream, type StoreDatabase } from './support/store-database';

jest.setTimeout(90_000);

describe('projections (real PostgreSQL)', () => {
  let h: StoreDatabase;
  const runners: ProjectionRunner[] = [];
  const runner = (...args: ConstructorParameters<typeof ProjectionRunner>) => {
    const created = new ProjectionRunner(...args);
    runners.push(created);
    return created;
  };

  beforeAll(async () => {
    h = await storeDatabase('projections', { poolSize: 12 });
    await h.db.pool.query(OWNER_SUMMARY_TABLES);
  });
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await h?.close();
  });

  describe('a per-owner summary over many API streams', () => {
    const workload = apiWorkload(4, 12, 8);
    const summary = ownerSummaryProjection();

    it('applies every handled event once, live and from history, with its checkpoint', async () => {
      const half = Math.floor(workload.length / 2);
      for (const a of workload.slice(0, half)) await h.store.append(a.stream, a.events);
      const live = runner(h.store, summary, { batchSize: 7, pollIntervalMs: 200 });
      live.start();
      // The rest while it runs, several appends at a time.
      const rest = workload.slice(half);
      for (let i = 0; i < rest.length; i += 6) await Promise.all(rest.slice(i, i + 6).map((a) => h.store.append(a.stream, a.events)));
      const expected = expectedSummary(allEvents(workload));
      await eventually(async () => expect(await readOwnerSummary(h.db.pool)).toEqual(expected), { timeoutMs: 30_000 });

      // The last event in the global order (read without the horizon: all appends have committed).
      const { rows } = await h.db.pool.query<{ tx: string; pos: string }>(
        'SELECT transaction_id::text AS tx, global_position AS pos FROM event_store.events ORDER BY transaction_id DESC, global_position DESC LIMIT 1',
      );
      const last = { transactionId: Number(rows[0].tx), globalPosition: Number(rows[0].pos) };
      await eventually(async () => expect((await live.status()).position).toEqual(last), { timeoutMs: 30_000 });
      expect(await live.status()).toMatchObject({ name: 'owner-summary', status: 'active' });
      expect((await live.status()).failure).toBeUndefined();
      await live.stop();
    });

    it('rebuilds from zero (truncate + reset in one transaction) with progress: events/s, position, lag', async () => {
      // Damage the read model: a rebuild must start from empty, not from this.
      await h.db.pool.query('UPDATE owner_summary SET apis = apis + 100');
      const reports: ProjectionProgress[] = [];
      const rebuilding = runner(h.store, summary, { batchSize: 10 });
      const final = await rebuilding.rebuild({ onProgress: (p) => reports.push(p), progressIntervalMs: 0 });

      expect(await readOwnerSummary(h.db.pool)).toEqual(expectedSummary(allEvents(workload)));
      const handled = allEvents(workload).filter((e) => summary.eventTypes.includes(e.type)).length;
      expect(final).toMatchObject({ projection: 'owner-summary', processed: handled, lag: 0, done: true });
      expect(final.eventsPerSecond).toBeGreaterThan(0);
      expect(reports.length).toBeGreaterThan(handled / 10 - 1);
      expect(reports[reports.length - 1]).toEqual(final);
      // One report per batch here (interval 0), then the final one, which may add an empty page.
      for (let i = 1; i < reports.length; i++) {
        const strictly = i < reports.length - 1;
        expect(reports[i].processed - reports[i - 1].processed).toBeGreaterThanOrEqual(strictly ? 1 : 0);
        expect(compareLogPositions(reports[i].position, reports[i - 1].position)).toBeGreaterThanOrEqual(strictly ? 1 : 0);
      }
      expect(reports[0].lag).toBeGreaterThan(reports[reports.length - 2].lag);
      expect(await rebuilding.status()).toMatchObject({ status: 'active' });
    });
  });

  describe('a failing event', () => {
    const types = ['Log'];

    it('stops the projection with the error and failing position visible, applies what came before, skips nothing', async () => {
      await h.db.pool.query(eventLogTable('poison_log'));
      let fixed = false;
      const log = eventLogProjection({ name: 'poison-log', table: 'poison_log', types, failOn: (e) => !fixed && (e.data as { poison?: boolean }).poison === true });
      const s = stream();
      const before = [newEvent('Log', { n: 1 }), newEvent('Ignored', {}), newEvent('Log', { n: 2 })];
      const poison = newEvent('Log', { poison: true });
      const after = [newEvent('Log', { n: 3 }), newEvent('Log', { n: 4 })];
      await h.store.append(s, [...before, poison, ...after]);
      const stored = await h.store.readStream(s);
      const at = (id: string) => stored.find((e) => e.id === id)!;

      const failing = runner(h.store, log, { batchSize: 100, pollIntervalMs: 100 });
      failing.start();
      await eventually(async () => expect((await failing.status()).status).toBe('failed'));
      const status = await failing.status();
      expect(status.failure).toEqual({
        error: `refusing event ${poison.id} of type Log`,
        eventId: poison.id,
        position: { transactionId: at(poison.id).transactionId, globalPosition: at(poison.id).globalPosition },
        at: expect.any(Date),
      });
      // The checkpoint sits right before the failing event; what came before is applied, in the same transaction.
      const lastBefore = at(before[2].id);
      expect(status.position).toEqual({ transactionId: lastBefore.transactionId, globalPosition: lastBefore.globalPosition });
      expect(await eventLogIds(h.db.pool, 'poison_log')).toEqual([before[0].id, before[2].id]);
      expect(failing.running).toBe(false);
      expect(failing.failure?.eventId).toBe(poison.id);
      await h.store.append(s, [newEvent('Log', { n: 5 })]);
      await sleep(500);
      expect(await eventLogIds(h.db.pool, 'poison_log')).toEqual([before[0].id, before[2].id]);
      await expect(runner(h.store, log).catchUp()).rejects.toBeInstanceOf(ProjectionFailedError);

      // After a fix, a restart retries the failing event first and goes on.
      fixed = true;
      failing.start();
      await eventually(async () => expect(await eventLogIds(h.db.pool, 'poison_log')).toHaveLength(6));
      const ids = await eventLogIds(h.db.pool, 'poison_log');
      expect(ids.slice(0, 5)).toEqual([before[0].id, before[2].id, poison.id, after[0].id, after[1].id]);
      await eventually(async () => expect((await failing.status()).status).toBe('active'));
      expect((await failing.status()).failure).toBeUndefined();
    });
  });

  it('two runners of one projection (two replicas) apply each event exactly once', async () => {
    await h.db.pool.query(eventLogTable('replica_log'));
    const log = eventLogProjection({ name: 'replica-log', table: 'replica_log', types: ['Replicated'] });
    const [a, b] = [runner(h.store, log, { batchSize: 5, pollIntervalMs: 50 }), runner(h.store, log, { batchSize: 5, pollIntervalMs: 50 })];
    a.start();
    b.start();
    const appended: RecordedEvent[] = [];
    for (let i = 0; i < 20; i++) {
      const s = stream();
      await h.store.append(s, [newEvent('Replicated', { i }), newEvent('Replicated', { i })]);
      appended.push(...(await h.store.readStream(s)));
    }
    await eventually(async () => expect(await eventLogIds(h.db.pool, 'replica_log')).toHaveLength(40), { timeoutMs: 20_000 });
    expect(new Set(await eventLogIds(h.db.pool, 'replica_log'))).toEqual(new Set(appended.map((e) => e.id)));
    expect(a.failure).toBeUndefined();
    expect(b.failure).toBeUndefined();
    expect((await a.status()).status).toBe('active');
  });
});
