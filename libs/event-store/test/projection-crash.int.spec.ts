import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { eventually, sleep } from '@platform/testing';
import { compareLogPositions, LOG_START, ProjectionRunner, type LogPosition, type NewEvent, type RecordedEvent } from '../src';
import { expectedSummary } from './fixtures/api-events';
import { apiWorkload } from './fixtures/api-workload';
import { OWNER_SUMMARY_TABLES, ownerSummaryProjection, readOwnerSummary } from './fixtures/owner-summary.projection';
import { storeDatabase, type StoreDatabase } from './support/store-database';

jest.setTimeout(120_000);

const WORKER = join(__dirname, 'fixtures', 'projection-worker.ts');
const WORKSPACE = join(__dirname, '..', '..', '..');

/** Runs the worker as one process (node with tsx's loader), so SIGKILL hits the process holding the connection. */
function startWorker(url: string, delayMs: number, batchSize: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', WORKER, url, String(delayMs), String(batchSize)], {
    cwd: WORKSPACE,
    // tsx finds the path aliases and decorator settings there (the contracts' class-validator
    // decorators, which the store reaches for upcasting): the workspace has no tsconfig.json.
    env: { ...process.env, TSX_TSCONFIG_PATH: join(WORKSPACE, 'tsconfig.base.json') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

describe('a projection killed with SIGKILL mid-batch (real PostgreSQL, child process)', () => {
  let h: StoreDatabase;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    h = await storeDatabase('projection_crash');
    await h.db.pool.query(OWNER_SUMMARY_TABLES);
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await h?.close();
  });

  const workerSessions = async () =>
    (await h.db.pool.query<{ in_tx: boolean; wrote: boolean }>(
      `SELECT xact_start IS NOT NULL AS in_tx, backend_xid IS NOT NULL AS wrote
         FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'projection-worker'`,
    )).rows;

  const checkpoint = async (): Promise<LogPosition> => {
    const { rows } = await h.db.pool.query<{ tx: string; pos: string }>(
      "SELECT transaction_id::text AS tx, global_position AS pos FROM event_store.projections WHERE name = 'owner-summary'",
    );
    return rows.length === 0 ? LOG_START : { transactionId: Number(rows[0].tx), globalPosition: Number(rows[0].pos) };
  };

  const readEverything = async (): Promise<RecordedEvent[]> => {
    const events: RecordedEvent[] = [];
    for (let after = LOG_START; ; ) {
      const page = await h.store.readAll({ after, limit: 1000 });
      events.push(...page.events);
      after = page.next;
      if (page.caughtUp) return events;
    }
  };

  it('keeps read model and checkpoint consistent at the kill, and a new runner resumes from the checkpoint', async () => {
    const workload = apiWorkload(5, 20, 10);
    for (const a of workload) await h.store.append(a.stream, a.events);
    const count = workload.reduce((n, a) => n + a.events.length, 0);
    // Readers wait for transactions still appending: wait until all are readable.
    const events = await eventually(async () => {
      const read = await readEverything();
      expect(read).toHaveLength(count);
      return read;
    });
    const projection = ownerSummaryProjection();
    const handled = events.filter((e) => projection.eventTypes.includes(e.type));
    const asNew = (list: RecordedEvent[]): NewEvent[] => list.map((e) => ({ id: e.id, type: e.type, data: e.data }));

    worker = startWorker(h.db.url, 4, 25);
    // Kill it inside a batch: after some batches committed, while a transaction of it has written.
    await eventually(async () => expect((await checkpoint()).globalPosition).toBeGreaterThan(0), { timeoutMs: 30_000 });
    await sleep(300);
    await eventually(async () => expect((await workerSessions()).some((s) => s.in_tx && s.wrote)).toBe(true), { intervalMs: 5 });
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    expect(worker.signalCode).toBe('SIGKILL');
    // The server rolls back the open batch once it sees the connection gone.
    await eventually(async () => expect(await workerSessions()).toEqual([]));

    const atKill = await checkpoint();
    const done = handled.filter((e) => compareLogPositions(e, atKill) <= 0);
    expect(done.length).toBeGreaterThan(0);
    expect(done.length).toBeLessThan(handled.length);
    // Exactly the events up to the checkpoint are in the read model: no half batch, nothing missing.
    expect(await readOwnerSummary(h.db.pool)).toEqual(expectedSummary(asNew(done)));

    const resumed = await new ProjectionRunner(h.store, projection, { batchSize: 50 }).catchUp();
    expect(resumed.processed).toBe(handled.length - done.length);
    expect(await readOwnerSummary(h.db.pool)).toEqual(expectedSummary(asNew(events)));
    expect(await checkpoint()).toEqual({ transactionId: events[events.length - 1].transactionId, globalPosition: events[events.length - 1].globalPosition });
  });
});
