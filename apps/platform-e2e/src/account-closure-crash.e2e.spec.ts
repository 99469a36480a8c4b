import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import {
  AccountClosureRequested,
  AccountReopened,
  ApiRetirementRefused,
  ApisRestored,
  ApisRetired,
  ApiUpdated,
  ReopenAccount,
  RestoreApis,
  RetireApis,
  SendClosureFailed,
  SendGoodbye,
  UserDeactivated,
  UserReactivated,
  type EventClass,
} from '@platform/contracts';
import { byEventId, consumerLag, databaseUrl, eventually, expectNoDeadLetters, httpJson, newSeed, Rng, sleep, TestPlatform, TopicReader, waitForNoLag, type ReadMessage } from '@platform/testing';

const SEED = Number(process.env['CLOSURE_CRASH_SEED'] ?? newSeed());
const CLOSURES = 200;
const CLIENTS = 8;
/** Kills of users, at the least: the kill phase lasts until the closures are requested and these happened. */
const MIN_KILLS = 5;
/** Kills that found saga instances in the middle of their work, at the least. */
const MIN_KILLS_OF_RUNNING_SAGAS = 2;
/** Share of users with an API under a retention hold: their closure is refused and compensated. */
const HELD_SHARE = 0.3;
/**
 * No step or compensation may time out in this test (each would add a legitimate resend and
 * blur the counts): the answers only wait in Kafka while users restarts, for seconds.
 */
const STEP_TIMEOUT_MS = 90_000;

interface Api {
  id: string;
  status: string;
}
interface Step {
  name: string;
  status: string;
  timedOutAt: string | null;
  late: boolean;
  compensation: { status: string; attempts: number; rounds: number } | null;
}
interface Closure {
  closureId: string;
  state: string;
  sagaStatus: string | null;
  reason: string | null;
  steps: Step[];
  history: { version: number; input: { kind: string; type?: string; name?: string; id?: string; ignored?: string }; decision: { end?: string | null } }[];
  pendingTimeouts: unknown[];
}
interface Notification {
  kind: string;
}
/** One user of the workload: their APIs, whether one is held (the closure must compensate), their closure. */
interface Closer {
  readonly userId: string;
  readonly apiIds: readonly string[];
  readonly held: boolean;
  closureId?: string;
}

/** The consumer groups of the closure (`<service>.<use case>`), with the contracts they read. */
const CLOSURE_GROUPS: readonly { readonly service: string; readonly useCase: string; readonly reads: readonly EventClass[] }[] = [
  { service: 'users', useCase: 'account-closure', reads: [AccountClosureRequested, ApisRetired, ApiRetirementRefused, ApisRestored, AccountReopened] },
  { service: 'users', useCase: 'reopen-account', reads: [ReopenAccount] },
  { service: 'endpoints', useCase: 'retire-apis', reads: [RetireApis] },
  { service: 'endpoints', useCase: 'restore-apis', reads: [RestoreApis] },
  { service: 'notifications', useCase: 'closure-notices', reads: [SendGoodbye, SendClosureFailed] },
];
const groupName = (g: { readonly service: string; readonly useCase: string }) => `${g.service}.${g.useCase}`;
/** Every message the closure causes, counted per closure, user or API by event id. */
const OBSERVED: readonly EventClass[] = [
  AccountClosureRequested,
  UserDeactivated,
  UserReactivated,
  RetireApis,
  ApisRetired,
  ApiRetirementRefused,
  RestoreApis,
  ApisRestored,
  ReopenAccount,
  AccountReopened,
  SendGoodbye,
  SendClosureFailed,
  ApiUpdated,
];

/** Runs `work` over `items` with at most `concurrency` at a time. */
async function inPool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i], i);
      }
    }),
  );
  return results;
}

/**
 * The account closure under kill -9 (issue 11, item 6 b and c). 200 closures run while the
 * users service, which runs the saga, is killed with SIGKILL at random moments (seeded: the
 * seed is printed, CLOSURE_CRASH_SEED replays the kills and the workload) and restarted. A
 * third of the users have an API under a retention hold, so their closure is refused and
 * compensated; the others complete. Afterwards every saga ended once, as its user's APIs say
 * it must, and no step's effect happened twice, counted where a second one would show: the
 * messages on Kafka by event id (a resend of one event keeps its id; a second effect has
 * another), the notifications rows (no unique constraint there), the APIs' ApiUpdated
 * events; and every dead-letter topic is empty.
 *
 * Then the saga's consumer group (and reopen-account's) is reset to the earliest offset while
 * users is stopped: after the restart the whole history is read again and nothing changes.
 */
describe('account closure under kill -9 of users (200 closures; a group reset replays nothing)', () => {
  const platform = new TestPlatform(['users', 'endpoints', 'notifications']);
  const rng = new Rng(SEED);
  const topicOf = (event: EventClass) => `${platform.namespace}.${event.contract.topic}`;
  const groupOf = (g: { readonly service: string; readonly useCase: string }) => `${platform.namespace}.${groupName(g)}`;
  const users = (path: string) => `${platform.service('users').url}${path}`;
  const endpoints = (path: string) => `${platform.service('endpoints').url}${path}`;
  const notifications = (path: string) => `${platform.service('notifications').url}${path}`;
  const closers: Closer[] = [];
  let reader: TopicReader;

  beforeAll(async () => {
    process.stderr.write(`account closure crash test: seed ${SEED} (CLOSURE_CRASH_SEED=${SEED} replays it)\n`);
    await platform.start({ ACCOUNT_CLOSURE_TIMEOUT_MS: String(STEP_TIMEOUT_MS), KAFKA_SESSION_TIMEOUT_MS: '6000', LOG_LEVEL: 'warn' });
    reader = await new TopicReader(platform.brokers, OBSERVED.map(topicOf)).start();
  }, 180_000);

  afterAll(async () => {
    await reader?.stop();
    await platform.stop();
  }, 60_000);

  /** A query on a service's own database: what the test looks at beside the HTTP API. */
  async function query<T extends object>(service: string, sql: string): Promise<T[]> {
    const client = new Client({ connectionString: databaseUrl(platform.databaseOf(service)) });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  async function createCloser(i: number, apiCount: number, held: boolean): Promise<Closer> {
    const user = await httpJson<{ id: string }>('POST', users('/users'), { email: `closer-${i}@example.com`, displayName: `Closer ${i}` }, platform.asOperator());
    expect(user.status).toBe(201);
    const apiIds: string[] = [];
    for (let a = 0; a < apiCount; a++) {
      const api = await httpJson<Api>('POST', endpoints('/apis'), { name: `API ${i}.${a}`, basePath: `/c${i}/a${a}` }, platform.asUser(user.body.id));
      expect(api.status).toBe(201);
      apiIds.push(api.body.id);
    }
    if (held) expect((await httpJson('POST', endpoints(`/apis/${apiIds[apiIds.length - 1]}/hold`), { reason: `audit ${i}` }, platform.asUser(user.body.id))).status).toBe(200);
    return { userId: user.body.id, apiIds, held };
  }

  const closureOf = async (closer: Closer) => httpJson<Closure>('GET', users(`/users/${closer.userId}/closure`), undefined, platform.asOperator());

  /**
   * POST /users/:id/close until it is known to have happened once: a request cut by a kill
   * may have committed, so before trying again the closure is looked for (404: not there).
   */
  async function requestClosure(closer: Closer): Promise<void> {
    const deadline = Date.now() + 180_000;
    for (let cut = false; Date.now() < deadline; ) {
      try {
        if (cut) {
          const existing = await closureOf(closer);
          if (existing.status === 200) {
            closer.closureId = existing.body.closureId;
            return;
          }
          if (existing.status !== 404) throw new Error(`GET closure answered ${existing.status}`);
        }
        const accepted = await httpJson<{ closureId: string }>('POST', users(`/users/${closer.userId}/close`), undefined, platform.asUser(closer.userId));
        if (accepted.status === 202) {
          closer.closureId = accepted.body.closureId;
          return;
        }
        throw new Error(`POST close answered ${accepted.status}: ${JSON.stringify(accepted.body)}`);
      } catch (error) {
        // Connection refused or reset (users down), or a 5xx while it died: look again shortly.
        if (error instanceof Error && /answered (4\d\d)/.test(error.message)) throw error;
        cut = true;
        await sleep(250);
      }
    }
    throw new Error(`closure of ${closer.userId} not requested within 180 s`);
  }

  /** Every closure group has committed everything, and no outbox holds a row: nothing more will happen. */
  async function quiet(timeoutMs: number): Promise<void> {
    for (const group of CLOSURE_GROUPS) await waitForNoLag(platform.brokers, [groupOf(group)], group.reads.map(topicOf), timeoutMs);
    await eventually(
      async () => {
        for (const service of ['users', 'endpoints', 'notifications']) {
          const [{ n }] = await query<{ n: string }>(service, 'SELECT count(*) AS n FROM messaging.outbox');
          expect({ service, outbox: Number(n) }).toEqual({ service, outbox: 0 });
        }
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** End offsets of every topic of the namespace (events, commands, dead letters, redrive). */
  async function endOffsets(): Promise<Record<string, number>> {
    const admin = new Kafka({ clientId: 'closure-crash-offsets', brokers: platform.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${platform.namespace}.`)).sort();
      const ends: Record<string, number> = {};
      for (const topic of topics) ends[topic] = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
      return ends;
    } finally {
      await admin.disconnect();
    }
  }

  /** The reader has every message the observed topics hold. */
  async function readEverything(): Promise<void> {
    const ends = await endOffsets();
    await eventually(
      () => {
        for (const event of OBSERVED) expect({ topic: topicOf(event), read: reader.messages.filter((m) => m.topic === topicOf(event)).length }).toEqual({ topic: topicOf(event), read: ends[topicOf(event)] });
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }

  it(`ends each of ${CLOSURES} sagas once and repeats no effect while users is killed with SIGKILL at random moments`, async () => {
    // The users, each with one or two APIs, a share of them with one API under a retention hold.
    const plan = Array.from({ length: CLOSURES }, () => ({ apis: rng.int(1, 2), held: rng.chance(HELD_SHARE) }));
    closers.push(...(await inPool(plan, CLIENTS, (p, i) => createCloser(i, p.apis, p.held))));
    // Retirement lists an owner's APIs from the catalog projection: every API must be in it first.
    await eventually(
      async () => {
        const listed = await inPool(closers, CLIENTS, async (c) => (await httpJson<Api[]>('GET', endpoints(`/apis?ownerId=${c.userId}`), undefined, platform.asOperator())).body.length);
        expect(listed).toEqual(closers.map((c) => c.apiIds.length));
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const held = closers.filter((c) => c.held).length;
    process.stderr.write(`${CLOSURES} users, ${closers.reduce((n, c) => n + c.apiIds.length, 0)} APIs, ${held} with a hold\n`);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(CLOSURES);

    // The closures, paced over about 40 s of users being up (8 clients, one request each 0.8-2 s), while users is killed.
    const service = platform.service('users');
    const t0 = Date.now();
    const kills: { at: string; requested: number; active: number }[] = [];
    let requested = 0;
    let requesting = true;
    const paces = closers.map(() => rng.between(800, 2000));
    const requests = inPool(closers, CLIENTS, async (closer, i) => {
      await sleep(paces[i]);
      await requestClosure(closer);
      requested++;
    }).finally(() => (requesting = false));
    const crashes = (async () => {
      while (requesting || kills.length < MIN_KILLS) {
        await sleep(rng.between(300, 3500));
        // Right after a closure was accepted, while its saga runs: on an idle machine a saga
        // ends within a few hundred ms, so a kill at a merely random moment finds none running.
        const before = requested;
        while (requesting && requested === before) await sleep(5);
        await sleep(rng.between(0, 40));
        service.kill('SIGKILL');
        await service.exited();
        // What the kill interrupted: the saga instances still running (committed state).
        const [{ active }] = await query<{ active: string }>('users', "SELECT count(*) FILTER (WHERE status = 'active') AS active FROM messaging.saga_instances");
        kills.push({ at: `${((Date.now() - t0) / 1000).toFixed(1)} s`, requested, active: Number(active) });
        service.start();
        await service.waitReady(90_000);
      }
    })();
    await Promise.all([requests, crashes]);
    process.stderr.write(`seed ${SEED}: ${kills.length} kills of users: ${kills.map((k) => `${k.at} (${k.requested} requested, ${k.active} running)`).join(', ')}\n`);
    expect(kills.length).toBeGreaterThanOrEqual(MIN_KILLS);
    // The kills hit sagas in the middle of their work, not only an idle service.
    expect(kills.filter((k) => k.active > 0).length).toBeGreaterThanOrEqual(MIN_KILLS_OF_RUNNING_SAGAS);
    expect(closers.every((c) => c.closureId !== undefined)).toBe(true);

    // Every saga ends: completed when nothing was held, compensated when an API was.
    const closures = await eventually(
      async () => {
        const views = await inPool(closers, CLIENTS, async (c) => (await closureOf(c)).body);
        const open = views.filter((v) => v.sagaStatus !== 'completed' && v.sagaStatus !== 'compensated');
        if (open.length > 0) throw new Error(`${open.length} closures not ended, e.g. ${JSON.stringify(open[0]).slice(0, 400)}`);
        return views;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    await quiet(60_000);
    await readEverything();
    process.stderr.write(`settled ${((Date.now() - t0) / 1000).toFixed(1)} s after the first closure\n`);

    const problems: string[] = [];
    const check = (subject: string, actual: unknown, expected: unknown) => {
      if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${subject}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    };

    // Each saga ended once, the way its APIs decide, and took each input once.
    closers.forEach((closer, i) => {
      const view = closures[i];
      const outcome = closer.held ? 'compensated' : 'completed';
      check(`closure ${closer.closureId}`, [view.closureId, view.state, view.sagaStatus], [closer.closureId, outcome, outcome]);
      check(`ends of ${closer.closureId}`, view.history.filter((h) => h.decision.end).map((h) => h.decision.end), [outcome]);
      check(
        `inputs of ${closer.closureId}`,
        view.history.map((h) => h.input.type ?? h.input.name),
        (closer.held ? [AccountClosureRequested, ApiRetirementRefused, AccountReopened] : [AccountClosureRequested, ApisRetired]).map((e) => e.contract.type),
      );
      const inputIds = view.history.map((h) => h.input.id);
      check(`distinct inputs of ${closer.closureId}`, new Set(inputIds).size, inputIds.length);
      check(
        `steps of ${closer.closureId}`,
        view.steps.map((s) => [s.name, s.status, s.timedOutAt, s.late, s.compensation && [s.compensation.status, s.compensation.attempts, s.compensation.rounds]]),
        [
          ['close-account', 'done', null, false, closer.held ? ['acknowledged', 1, 1] : null],
          ['retire-apis', closer.held ? 'refused' : 'done', null, false, null],
        ],
      );
      check(`pending timeouts of ${closer.closureId}`, view.pendingTimeouts, []);
    });

    // What left the services, by event id: a resend keeps its id, a second effect has another.
    const events = new Map(OBSERVED.map((e) => [e, [...byEventId(reader.messages.filter((m) => m.topic === topicOf(e))).values()].map((copies) => copies[0])]));
    const payloads = (event: EventClass) => (events.get(event) ?? []).map((m: ReadMessage) => JSON.parse(m.value ?? 'null') as Record<string, unknown>);
    const countBy = (event: EventClass, field: string) => {
      const counts = new Map<unknown, number>();
      for (const p of payloads(event)) counts.set(p[field], (counts.get(p[field]) ?? 0) + 1);
      return counts;
    };
    const perClosure = new Map(OBSERVED.filter((e) => e !== UserDeactivated && e !== UserReactivated && e !== ApiUpdated).map((e) => [e, countBy(e, 'closureId')]));
    const deactivated = countBy(UserDeactivated, 'userId');
    const reactivated = countBy(UserReactivated, 'userId');
    const retiredApis = new Map<unknown, number>();
    const apiUpdates = countBy(ApiUpdated, 'apiId');
    for (const p of payloads(ApiUpdated)) if (p['status'] === 'retired') retiredApis.set(p['apiId'], (retiredApis.get(p['apiId']) ?? 0) + 1);
    for (const closer of closers) {
      const done = closer.held ? 0 : 1;
      const undone = 1 - done;
      const expected: [EventClass, number][] = [
        [AccountClosureRequested, 1],
        [RetireApis, 1],
        [ApisRetired, done],
        [ApiRetirementRefused, undone],
        [RestoreApis, 0],
        [ApisRestored, 0],
        [ReopenAccount, undone],
        [AccountReopened, undone],
        [SendGoodbye, done],
        [SendClosureFailed, undone],
      ];
      check(
        `messages of closure ${closer.closureId}`,
        expected.map(([e]) => [e.contract.type, perClosure.get(e)?.get(closer.closureId) ?? 0]),
        expected.map(([e, n]) => [e.contract.type, n]),
      );
      check(`UserDeactivated, UserReactivated of ${closer.userId}`, [deactivated.get(closer.userId) ?? 0, reactivated.get(closer.userId) ?? 0], [1, undone]);
      for (const apiId of closer.apiIds) check(`ApiUpdated (all, retired) of API ${apiId}`, [apiUpdates.get(apiId) ?? 0, retiredApis.get(apiId) ?? 0], [done, done]);
    }

    // What the services hold: the notifications rows (no unique constraint to hide a second
    // one), the users' and the APIs' statuses.
    await inPool(closers, CLIENTS, async (closer) => {
      const kinds = (await httpJson<Notification[]>('GET', notifications(`/users/${closer.userId}/notifications`), undefined, platform.asOperator())).body.map((n) => n.kind).filter((k) => k !== 'welcome');
      check(`notifications of ${closer.userId}`, kinds, [closer.held ? 'closure-failed' : 'goodbye']);
      check(`status of ${closer.userId}`, (await httpJson<{ status: string }>('GET', users(`/users/${closer.userId}`), undefined, platform.asOperator())).body.status, closer.held ? 'active' : 'deactivated');
      const statuses = await Promise.all(closer.apiIds.map(async (id) => (await httpJson<Api>('GET', endpoints(`/apis/${id}`), undefined, platform.asOperator())).body.status));
      check(`APIs of ${closer.userId}`, statuses, closer.apiIds.map(() => (closer.held ? 'active' : 'retired')));
    });

    expect({ problems: problems.length, first: problems.slice(0, 15) }).toEqual({ problems: 0, first: [] });
    await expectNoDeadLetters(platform.brokers, platform.namespace, CLOSURE_GROUPS.map(groupName));
  }, 600_000);

  it("changes nothing when the saga's consumer group is reset to the earliest offset and users restarted", async () => {
    // Two closures of its own (one completes, one is compensated), so that this test has a
    // history to replay also when it runs alone.
    const own = [await createCloser(CLOSURES, 1, false), await createCloser(CLOSURES + 1, 2, true)];
    await eventually(async () => {
      for (const c of own) expect((await httpJson<Api[]>('GET', endpoints(`/apis?ownerId=${c.userId}`), undefined, platform.asOperator())).body).toHaveLength(c.apiIds.length);
    }, { timeoutMs: 30_000, intervalMs: 250 });
    for (const closer of own) await requestClosure(closer);
    await eventually(async () => {
      expect(await Promise.all(own.map(async (c) => (await closureOf(c)).body.sagaStatus))).toEqual(['completed', 'compensated']);
    }, { timeoutMs: 60_000, intervalMs: 250 });
    await quiet(60_000);

    // Everything an effect would change: the users' saga tables and users, the notifications
    // rows, and the end of every topic of the namespace (a message sent, dead letters too).
    const snapshot = async () => ({
      instances: await query('users', 'SELECT saga, instance_key, status, version, state, ended_at FROM messaging.saga_instances ORDER BY saga, instance_key'),
      history: await query('users', 'SELECT count(*) AS n, max(at) AS last FROM messaging.saga_history'),
      timeouts: await query('users', 'SELECT count(*) AS n FROM messaging.saga_timeouts'),
      users: await query('users', 'SELECT id, status, updated_at FROM users ORDER BY id'),
      closures: await query('users', 'SELECT closure_id, status FROM account_closures ORDER BY closure_id'),
      notifications: await query('notifications', 'SELECT count(*) AS n, max(created_at) AS last FROM notifications'),
      topics: await endOffsets(),
    });
    const before = await snapshot();
    const instances = before.instances.length;
    expect(instances).toBeGreaterThanOrEqual(own.length);

    const service = platform.service('users');
    expect(await service.stop()).toBe(0);
    const admin = new Kafka({ clientId: 'closure-group-reset', brokers: platform.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const replayed: Record<string, number> = {};
    try {
      for (const group of CLOSURE_GROUPS.filter((g) => g.service === 'users')) {
        // The group is empty once its members have left; the broker may need a moment to say so.
        for (const event of group.reads) await eventually(() => admin.resetOffsets({ groupId: groupOf(group), topic: topicOf(event), earliest: true }), { timeoutMs: 30_000, intervalMs: 500 });
        replayed[group.useCase] = await consumerLag(platform.brokers, groupOf(group), group.reads.map(topicOf));
      }
    } finally {
      await admin.disconnect();
    }
    process.stderr.write(`group reset: ${JSON.stringify(replayed)} messages to read again\n`);
    // The reset took: the saga's group reads every closure's messages again (at least the two above: 2 + 3 inputs).
    expect(replayed['account-closure']).toBeGreaterThanOrEqual(5);
    expect(replayed['reopen-account']).toBeGreaterThanOrEqual(1);

    service.start();
    await service.waitReady(90_000);
    // Read to the end again: each message went through the inbox (and was found there).
    for (const group of CLOSURE_GROUPS) await waitForNoLag(platform.brokers, [groupOf(group)], group.reads.map(topicOf), 90_000);
    await quiet(30_000);
    await sleep(2000);
    const after = await snapshot();
    expect(after).toEqual(before);
    await expectNoDeadLetters(platform.brokers, platform.namespace, CLOSURE_GROUPS.map(groupName));
  }, 300_000);
});
