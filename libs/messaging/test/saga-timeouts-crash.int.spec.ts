import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { NotificationSent, UserCreated, UserDeactivated, UserRenamed } from '@platform/contracts';
import { byEventId, eventually, expectNoDeadLetters, produceRaw, sleep, TopicReader } from '@platform/testing';
import { DueRemindersSaga, dueIn, type DueRemindersState } from './fixtures/due-reminders.saga';
import { cloudEventMessage, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(300_000);

const WORKER = join(__dirname, 'fixtures', 'due-reminders-worker.ts');
const WORKSPACE = join(__dirname, '..', '..', '..');
const SEED = Number(process.env['SAGA_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const INSTANCES = 300;
const HOUR_MS = 3_600_000;
/** The timeouts are due from this long after the instances exist, spread over SPREAD_MS. */
const FIRST_DUE_MS = 3_000;
const SPREAD_MS = 10_000;
/** The kill phase ends at most this long after the first timeout is due; then one process drains. */
const KILL_PHASE_MS = 60_000;
/** Kills during firing, at the least: fewer when starting a process takes most of the phase (a loaded machine: 15 s). */
const MIN_KILLS = 3;

/** mulberry32: the seed printed at the start replays the same delays and the same kills. */
function seeded(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, between: (min: number, max: number) => min + next() * (max - min), pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] };
}

/** Processes running the saga (node with tsx's loader, so SIGKILL hits the process holding the connections). */
class Workers {
  readonly live = new Map<string, ChildProcess>();
  private count = 0;
  kills = 0;
  killsInTransaction = 0;
  overlaps = 0;

  private readonly log: string[] = [];
  private readonly t0 = Date.now();

  constructor(private readonly h: MessagingHarness) {}

  note(line: string): void {
    this.log.push(`${((Date.now() - this.t0) / 1000).toFixed(1)} s ${line}`);
  }

  get history(): string {
    return this.log.join('\n  ');
  }

  /** Starts a worker; resolves once it has started (its topics exist), or with false if it died first. */
  start(): Promise<boolean> {
    const name = `saga-worker-${++this.count}`;
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, this.h.db.url, this.h.brokers.join(','), this.h.naming.namespace, name], {
      cwd: WORKSPACE,
      // tsx finds the path aliases and decorator settings there: the workspace has no tsconfig.json.
      env: { ...process.env, TSX_TSCONFIG_PATH: join(WORKSPACE, 'tsconfig.base.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.live.set(name, child);
    child.once('exit', () => this.live.delete(name));
    if (this.live.size === 2) this.overlaps += 1;
    this.note(`start ${name} (${this.live.size} running)`);
    return new Promise((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (!chunk.toString().includes('started')) return;
        this.note(`${name} started`);
        resolve(true);
      });
      child.once('exit', () => resolve(false));
    });
  }

  /** Kills a worker with SIGKILL; `inTransaction` first waits (up to a second) until it has a transaction that wrote. */
  async kill(name: string, inTransaction: boolean): Promise<void> {
    const child = this.live.get(name);
    if (!child) return;
    const caught = inTransaction && (await this.writing(name));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.kills += 1;
    if (caught) this.killsInTransaction += 1;
    this.note(`SIGKILL ${name}${caught ? ' inside a transaction that wrote' : ''}`);
  }

  /**
   * Workers connected to the database: firing what is due. (Their start resolves later, once
   * the Kafka group has them, which waits out a killed member's session.)
   */
  async connected(): Promise<string[]> {
    const { rows } = await this.h.db.pool.query<{ name: string }>('SELECT DISTINCT application_name AS name FROM pg_stat_activity WHERE application_name = ANY($1)', [[...this.live.keys()]]);
    return rows.map((r) => r.name);
  }

  private async writing(name: string): Promise<boolean> {
    for (const deadline = Date.now() + 1000; Date.now() < deadline; await sleep(2)) {
      const { rowCount } = await this.h.db.pool.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND backend_xid IS NOT NULL', [name]);
      if (rowCount) return true;
    }
    return false;
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.live.keys()]) await this.kill(name, false);
  }
}

describe('saga timeouts under SIGKILL (real PostgreSQL and Kafka, child processes)', () => {
  let h: MessagingHarness;
  let workers: Workers;
  let reader: TopicReader | undefined;

  beforeAll(async () => {
    h = await messagingHarness('saga_timeouts_crash');
    workers = new Workers(h);
  });

  afterAll(async () => {
    await workers?.stopAll();
    await reader?.stop();
    await h?.close();
  });

  it('fires each timeout exactly once while the service is killed and restarted, sometimes two at once; those of ended or cancelled instances do nothing', async () => {
    process.stderr.write(`saga timeouts crash test: seed ${SEED} (SAGA_CRASH_SEED=${SEED} replays it)\n`);
    const rng = seeded(SEED);
    const group = h.naming.useCase('sagas', new DueRemindersSaga()).groupId;
    const users = Array.from({ length: INSTANCES }, () => randomUUID());
    const ended = users.slice(0, 30);
    const cancelled = users.slice(30, 60);
    const racing = users.slice(60, 90);
    const plain = users.slice(90);
    expect(await workers.start()).toBe(true);
    const state = async (userId: string) =>
      (await h.db.pool.query<{ status: string; state: DueRemindersState | null }>('SELECT status, state FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2', [group, userId]))
        .rows[0];
    const pendingTimeouts = async () => Number((await h.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM messaging.saga_timeouts WHERE saga = $1', [group])).rows[0].n);
    const statuses = async () =>
      Object.fromEntries(
        (await h.db.pool.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM messaging.saga_instances WHERE saga = $1 GROUP BY status', [group])).rows.map((r) => [r.status, Number(r.n)]),
      );
    // The first worker created the topics; the observer reads the output topic from its beginning.
    reader = await new TopicReader(h.brokers, [h.naming.topic(NotificationSent)]).start();

    await produceRaw(h.brokers, h.naming.topic(UserCreated), users.map((userId) => cloudEventMessage(UserCreated, { userId, email: `${userId.slice(0, 8)}@example.com`, displayName: dueIn(HOUR_MS) })));
    await produceRaw(h.brokers, h.naming.topic(UserDeactivated), ended.map((userId) => cloudEventMessage(UserDeactivated, { userId, reason: 'requested' })));
    await produceRaw(h.brokers, h.naming.topic(UserRenamed), cancelled.map((userId) => cloudEventMessage(UserRenamed, { userId, displayName: 'renamed', previousDisplayName: 'x' })));
    await eventually(async () => {
      expect(await statuses()).toEqual({ active: INSTANCES - ended.length, failed: ended.length });
      expect(await pendingTimeouts()).toBe(plain.length + racing.length);
    }, { timeoutMs: 60_000, intervalMs: 200 });
    for (const userId of cancelled) expect((await state(userId)).state).toMatchObject({ cancelled: true, fired: 0 });

    // Every instance scheduled its timeout an hour ahead; now they are made due within the window,
    // a few seconds from now, whatever the creation took. Ended instances get timeouts left
    // behind (as if their end had raced their firing): due in the window too, they must do nothing.
    const dueOf = new Map([...plain, ...racing].map((u) => [u, Date.now() + FIRST_DUE_MS + rng.between(0, SPREAD_MS)]));
    await h.db.pool.query(
      `UPDATE messaging.saga_timeouts t SET due_at = to_timestamp(d.at / 1000.0) FROM unnest($2::text[], $3::float8[]) AS d(k, at) WHERE t.saga = $1 AND t.instance_key = d.k`,
      [group, [...dueOf.keys()], [...dueOf.values()]],
    );
    for (const userId of ended) {
      await h.db.pool.query(
        `INSERT INTO messaging.saga_timeouts (id, saga, instance_key, name, due_at, data) VALUES ($1, $2, $3, 'due', to_timestamp($4 / 1000.0), $5)`,
        [randomUUID(), group, userId, Date.now() + FIRST_DUE_MS + rng.between(0, SPREAD_MS), JSON.stringify({ userId })],
      );
    }
    const firstDue = Math.min(...dueOf.values());
    const lastDue = Math.max(...dueOf.values());

    // The racing instances are deactivated around their due time, while the processes are killed.
    const races = racing.map(async (userId) => {
      await sleep(Math.max(0, dueOf.get(userId)! + rng.between(-500, 500) - Date.now()));
      await produceRaw(h.brokers, h.naming.topic(UserDeactivated), [cloudEventMessage(UserDeactivated, { userId, reason: 'requested' })]);
    });

    await sleep(Math.max(0, firstDue - Date.now()));
    workers.note(`the first timeout is due; the last in ${((lastDue - firstDue) / 1000).toFixed(1)} s`);
    const killPhaseEnds = firstDue + KILL_PHASE_MS;
    const firing = (pending: number) => Date.now() < lastDue + 1000 || pending > 0;
    for (let pending = await pendingTimeouts(); Date.now() < killPhaseEnds && (firing(pending) || workers.kills < MIN_KILLS || workers.overlaps === 0); pending = await pendingTimeouts()) {
      workers.note(`${pending} timeouts pending`);
      await sleep(rng.between(300, 1500));
      const live = workers.live.size;
      // Two processes at once at least once, whatever the draws: after two kills without it, the next step starts a second.
      const overlapOwed = workers.overlaps === 0 && workers.kills >= 2;
      if (live === 0 || (live === 1 && (overlapOwed || rng.next() < 0.35))) {
        void workers.start();
      } else {
        const connected = await workers.connected();
        if (connected.length === 0) continue;
        await workers.kill(rng.pick(connected.sort()), rng.next() < 0.5);
        if (workers.live.size === 0) void workers.start();
      }
    }
    if (workers.live.size === 0) void workers.start();
    await Promise.all(races);
    process.stderr.write(`saga timeouts crash test (seed ${SEED}): ${workers.kills} kills (${workers.killsInTransaction} inside a writing transaction), ${workers.overlaps} periods with two processes\n  ${workers.history}\n`);
    expect(workers.kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(workers.overlaps).toBeGreaterThanOrEqual(1);

    // None stuck: every timeout is gone, every sent reminder reached Kafka.
    await eventually(async () => expect(await pendingTimeouts()).toBe(0), { timeoutMs: 90_000, intervalMs: 500 });
    await eventually(async () => {
      expect(Number((await h.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM messaging.outbox')).rows[0].n)).toBe(0);
      expect((await statuses()).failed).toBe(ended.length + racing.length);
    }, { timeoutMs: 90_000, intervalMs: 500 });
    const reminders = new Map<string, number>();
    await eventually(
      () => {
        reminders.clear();
        for (const [, copies] of byEventId(reader!.messages)) reminders.set(copies[0].key!, (reminders.get(copies[0].key!) ?? 0) + 1);
        expect(plain.filter((u) => reminders.get(u) === undefined)).toEqual([]);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await sleep(1000);

    // Exactly once: one reminder (distinct event ids) per plain instance, and its state counted one firing.
    const twice = [...reminders].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    for (const userId of plain) expect((await state(userId)).state?.fired).toBe(1);
    // Ended or cancelled before due: nothing, also from the left-behind timeouts.
    for (const userId of [...ended, ...cancelled]) {
      expect(reminders.get(userId)).toBeUndefined();
      expect((await state(userId)).state?.fired).toBe(0);
    }
    // Racing: fired before the end (one reminder) or not at all, never after.
    for (const userId of racing) {
      const { status, state: s } = await state(userId);
      expect(status).toBe('failed');
      expect(reminders.get(userId) ?? 0).toBe(s?.fired);
    }
    expect([...reminders.keys()].filter((u) => !(users as string[]).includes(u))).toEqual([]);
    await expectNoDeadLetters(h.brokers, h.naming.namespace, ['sagas.due-reminders']);
  });
});
