import { randomUUID } from 'node:crypto';
import { UserCreated } from '@platform/contracts';
import { PrivateKafka, TestPlatform, eventually, httpJson, waitForNoLag } from '@platform/testing';

const CLOSURE_STEP_TIMEOUT_MS = 5000;

interface SagaSummary {
  readonly key: string;
  readonly status: string;
  readonly phase: string | null;
  readonly currentStep: string | null;
  readonly correlationId: string | null;
}

interface SagaInstance extends SagaSummary {
  readonly steps: { readonly name: string; readonly status: string; readonly compensation: { readonly acknowledgements?: number } | null }[];
  readonly history: { readonly input: { readonly kind: string; readonly name?: string } }[];
  readonly pendingTimeouts: unknown[];
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (version 0.0.4). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name] = value.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** One scrape of a service, with lookups by name and labels. */
class Scrape {
  constructor(
    readonly text: string,
    readonly samples: readonly Sample[],
  ) {}

  all(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The value of the one series matching, or undefined when none does. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.all(name, labels);
    if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`);
    return found[0]?.value;
  }
}

/** GETs /metrics of one service and parses it. */
async function scrapeService(platform: TestPlatform, service: string): Promise<Scrape> {
  const response = await fetch(`${platform.service(service).url}/metrics`);
  expect(response.status).toBe(200);
  // The text format 0.0.4 (Express orders the parameters its own way).
  const contentType = (response.headers.get('content-type') ?? '').split(';').map((p) => p.trim());
  expect(contentType).toEqual(expect.arrayContaining(['text/plain', 'version=0.0.4', 'charset=utf-8']));
  const text = await response.text();
  return new Scrape(text, parseExposition(text));
}

/**
 * /metrics of real service processes after real traffic: users registered over HTTP, welcomed
 * by notifications through Kafka; APIs created on the event-sourced endpoints service; account
 * closures run by the users saga. The values are checked, not only the names.
 */
describe('metrics: /metrics in Prometheus format on every service (users, notifications, endpoints)', () => {
  const platform = new TestPlatform(['users', 'notifications', 'endpoints']);
  const N = 6;
  const userIds: string[] = [];
  const welcomeGroup = () => `${platform.namespace}.notifications.welcome`;

  const scrape = (service: string) => scrapeService(platform, service);

  beforeAll(async () => {
    // Short closure timeouts: the saga test below makes a step time out, and its late-answer window end.
    await platform.start({ ACCOUNT_CLOSURE_TIMEOUT_MS: String(CLOSURE_STEP_TIMEOUT_MS), ACCOUNT_CLOSURE_LATE_ANSWER_WINDOW_MS: '1000' });
    for (let i = 0; i < N; i++) {
      const { status, body } = await httpJson<{ id: string }>('POST', `${platform.service('users').url}/users`, { email: `metrics-${randomUUID()}@example.com`, displayName: `Metric ${i}` }, platform.asOperator());
      expect(status).toBe(201);
      userIds.push(body.id);
    }
    // Every welcome notification is there (read over HTTP: N requests on a route with an id).
    await eventually(
      async () => {
        for (const id of userIds) expect((await httpJson<unknown[]>('GET', `${platform.service('notifications').url}/users/${id}/notifications`, undefined, platform.asOperator())).body).toHaveLength(1);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await waitForNoLag(platform.brokers, [welcomeGroup()], [`${platform.namespace}.${UserCreated.contract.topic}`]);
  }, 180_000);

  afterAll(async () => {
    await platform.stop();
  }, 60_000);

  it('counts HTTP requests by route template, method and status, with a duration histogram', async () => {
    const users = await scrape('users');
    expect(users.value('http_requests_total', { route: '/users', method: 'POST', status: '201' })).toBe(N);
    expect(users.value('http_request_duration_seconds_count', { route: '/users', method: 'POST', status: '201' })).toBe(N);
    expect(users.value('http_request_duration_seconds_bucket', { route: '/users', method: 'POST', status: '201', le: '+Inf' })).toBe(N);
    expect(users.value('http_request_duration_seconds_sum', { route: '/users', method: 'POST', status: '201' })).toBeGreaterThan(0);
    const notifications = await scrape('notifications');
    // Route templates, never raw paths: one series for every user's notifications.
    expect(notifications.value('http_requests_total', { route: '/users/:userId/notifications', method: 'GET', status: '200' })).toBeGreaterThanOrEqual(N);
    for (const id of userIds) expect(notifications.text).not.toContain(id);
    // A path no route knows is counted under one label.
    await fetch(`${platform.service('users').url}/no/such/${randomUUID()}`);
    expect((await scrape('users')).value('http_requests_total', { route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
  });

  it("counts the welcome use case's events and times its handler; nothing retried, dead-lettered or redriven", async () => {
    const notifications = await scrape('notifications');
    const welcome = { use_case: 'welcome' };
    expect(notifications.value('messaging_events_handled_total', welcome)).toBeGreaterThanOrEqual(N);
    expect(notifications.value('messaging_handler_duration_seconds_count', welcome)).toBeGreaterThanOrEqual(N);
    expect(notifications.value('messaging_handler_duration_seconds_sum', welcome)).toBeGreaterThan(0);
    expect(notifications.value('messaging_events_retried_total', welcome)).toBe(0);
    expect(notifications.value('messaging_events_redriven_total', welcome)).toBe(0);
    const deadLettered = notifications.all('messaging_events_dead_lettered_total', welcome);
    expect(deadLettered.map((s) => s.labels['reason']).sort()).toEqual(['invalid-payload', 'late-event', 'non-retriable', 'retries-exhausted']);
    expect(deadLettered.every((s) => s.value === 0)).toBe(true);
    // Every use case of the service has its series, before it has handled anything.
    expect(notifications.all('messaging_events_handled_total').map((s) => s.labels['use_case']).sort()).toEqual(['closure-notices', 'endpoint-audit', 'endpoint-digest', 'template-cache', 'welcome']);
  });

  it('reports the welcome group caught up: lag 0 in messages and seconds on every partition', async () => {
    const notifications = await eventually(async () => {
      const scraped = await scrape('notifications');
      const lag = scraped.all('messaging_consumer_lag_messages', { group: welcomeGroup() });
      // Six partitions of users.user-created.v1 and one of the group's redrive topic.
      expect(lag).toHaveLength(UserCreated.contract.partitions + 1);
      expect(lag.every((s) => s.value === 0)).toBe(true);
      return scraped;
    });
    const topic = `${platform.namespace}.${UserCreated.contract.topic}`;
    expect(notifications.all('messaging_consumer_lag_messages', { group: welcomeGroup(), topic }).map((s) => s.labels['partition']).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(notifications.all('messaging_consumer_lag_seconds', { group: welcomeGroup() }).every((s) => s.value === 0)).toBe(true);
    expect(notifications.value('messaging_kafka_up')).toBe(1);
  });

  it('reports the outboxes drained and what the relays sent', async () => {
    for (const service of ['users', 'notifications']) {
      const scraped = await eventually(async () => {
        const s = await scrape(service);
        expect(s.value('messaging_outbox_rows')).toBe(0);
        return s;
      });
      expect(scraped.value('messaging_outbox_oldest_row_age_seconds')).toBe(0);
      expect(scraped.value('messaging_relay_failures_total')).toBe(0);
    }
    // users published one UserCreated per user; notifications one NotificationSent per welcome.
    expect((await scrape('users')).value('messaging_relay_sent_total')).toBe(N);
    expect((await scrape('notifications')).value('messaging_relay_sent_total')).toBeGreaterThanOrEqual(N);
  });

  it('reports the projection of the event-sourced service caught up, and nothing held back', async () => {
    for (let i = 0; i < 3; i++) {
      const created = await httpJson('POST', `${platform.service('endpoints').url}/apis`, { name: `metrics ${i}`, basePath: '/orders' }, platform.asUser(randomUUID()));
      expect(created.status).toBe(201);
    }
    const endpoints = await eventually(async () => {
      const s = await scrape('endpoints');
      expect(s.value('event_store_projection_lag_events', { projection: 'api-catalog' })).toBe(0);
      expect(s.value('event_store_projection_position', { projection: 'api-catalog' })).toBeGreaterThanOrEqual(3);
      return s;
    });
    expect(endpoints.value('event_store_held_back_events')).toBe(0);
    expect(endpoints.value('event_store_held_back_seconds')).toBe(0);
    expect(endpoints.value('http_requests_total', { route: '/apis', method: 'POST', status: '201' })).toBe(3);
  });

  it('times the windows of the digest: an endpoint change is audited, and its 500 ms window emitted once', async () => {
    const owner = platform.asUser(randomUUID());
    const api = await httpJson<{ id: string }>('POST', `${platform.service('endpoints').url}/apis`, { name: 'windowed', basePath: '/orders' }, owner);
    expect(api.status).toBe(201);
    const added = await httpJson('POST', `${platform.service('endpoints').url}/apis/${api.body.id}/endpoints`, { method: 'GET', path: '/orders', upstreamUrl: 'http://orders.internal/v1' }, owner);
    expect(added.status).toBe(201);
    const notifications = await eventually(
      async () => {
        const s = await scrape('notifications');
        expect(s.value('messaging_events_handled_total', { use_case: 'endpoint-audit' })).toBe(1);
        expect(s.value('messaging_events_handled_total', { use_case: 'endpoint-digest' })).toBe(1);
        return s;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    const digest = { use_case: 'endpoint-digest' };
    expect(notifications.value('messaging_window_emit_lateness_seconds_count', digest)).toBe(1);
    // Handled soon after it closed (a timer at its close time), and timed: one handler call.
    expect(notifications.value('messaging_window_emit_lateness_seconds_sum', digest)).toBeLessThan(5);
    expect(notifications.value('messaging_handler_duration_seconds_count', digest)).toBe(1);
    expect(notifications.value('messaging_handler_duration_seconds_count', { use_case: 'endpoint-audit' })).toBe(1);
  });

  it('includes the default process metrics, and keeps /health as it was', async () => {
    for (const service of ['users', 'notifications', 'endpoints']) {
      const scraped = await scrape(service);
      expect(scraped.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(scraped.value('process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(scraped.all('nodejs_heap_size_used_bytes')).toHaveLength(1);
      expect(scraped.text).toContain('# TYPE http_requests_total counter');
      expect(scraped.text).toContain('# TYPE http_request_duration_seconds histogram');
      expect((await platform.service(service).readiness()).status).toBe(200);
    }
    // /metrics is not part of the API's OpenAPI document.
    const docs = await httpJson<{ paths: Record<string, unknown> }>('GET', `${platform.service('users').url}/docs-json`, undefined, platform.asOperator());
    expect(Object.keys(docs.body.paths)).not.toContain('/metrics');
  });

  // Last: it stops and restarts endpoints, whose counters start again from zero.
  it('after real closures (completed, refused, timed out), reports saga instances by state, timeouts pending and fired with their lateness, steps compensated; /sagas lists them', async () => {
    const users = (path: string) => `${platform.service('users').url}${path}`;
    const endpoints = (path: string) => `${platform.service('endpoints').url}${path}`;
    const saga = { saga: 'account-closure' };
    const userWithApi = async (name: string) => {
      const user = await httpJson<{ id: string }>('POST', users('/users'), { email: `${name}-${randomUUID().slice(0, 8)}@example.com`, displayName: name }, platform.asOperator());
      const api = await httpJson<{ id: string }>('POST', endpoints('/apis'), { name: `${name}'s API`, basePath: '/a' }, platform.asUser(user.body.id));
      expect(api.status).toBe(201);
      await eventually(async () => expect((await httpJson<unknown[]>('GET', endpoints(`/apis?ownerId=${user.body.id}`), undefined, platform.asOperator())).body).toHaveLength(1), { timeoutMs: 20_000 });
      return { userId: user.body.id, apiId: api.body.id };
    };
    const close = async (userId: string, correlationId: string) => {
      const accepted = await httpJson<{ closureId: string }>('POST', users(`/users/${userId}/close`), undefined, { ...platform.asUser(userId), 'x-correlation-id': correlationId });
      expect(accepted.status).toBe(202);
      return accepted.body.closureId;
    };
    const instance = async (id: string) => (await httpJson<SagaInstance>('GET', users(`/sagas/account-closure/instances/${id}`), undefined, platform.asOperator())).body;
    const ended = (id: string, status: string) =>
      eventually(async () => {
        const i = await instance(id);
        expect(i.status).toBe(status);
        return i;
      }, { timeoutMs: 90_000, intervalMs: 250 });

    // Before any closure: every state's series, at zero.
    const before = await scrape('users');
    expect(before.all('platform_saga_instances', saga).map((s) => [s.labels['state'], s.value]).sort()).toEqual(
      ['abandoned', 'active', 'compensated', 'completed', 'failed', 'waiting'].map((state) => [state, 0]),
    );
    expect(before.value('platform_saga_timeouts_pending', saga)).toBe(0);
    expect(before.value('platform_saga_timeouts_fired_total', saga)).toBe(0);

    const completes = await userWithApi('completes');
    const refused = await userWithApi('refused');
    expect((await httpJson('POST', endpoints(`/apis/${refused.apiId}/hold`), { reason: 'audit' }, platform.asUser(refused.userId))).status).toBeLessThan(300);
    const timesOut = await userWithApi('times-out');
    const correlations = { completes: randomUUID(), refused: randomUUID(), timesOut: randomUUID() };
    const completed = await close(completes.userId, correlations.completes);
    const compensated = await close(refused.userId, correlations.refused);
    await ended(completed, 'completed');
    await ended(compensated, 'compensated');

    // endpoints away: the retirement is not answered, its timeout fires, the saga compensates.
    await platform.service('endpoints').stop();
    let timedOut: string;
    try {
      timedOut = await close(timesOut.userId, correlations.timesOut);
      const running = await eventually(async () => {
        const [listed] = (await httpJson<SagaSummary[]>('GET', users('/sagas/account-closure/instances?state=active'), undefined, platform.asOperator())).body;
        expect(listed).toMatchObject({ key: timedOut, phase: 'running', currentStep: 'retire-apis' });
        const s = await scrape('users');
        expect(s.value('platform_saga_instances', { ...saga, state: 'active' })).toBe(1);
        return s;
      }, { timeoutMs: 20_000, intervalMs: 250 });
      // Its step's timeout waits, due in CLOSURE_STEP_TIMEOUT_MS.
      expect(running.value('platform_saga_timeouts_pending', saga)).toBe(1);
      await eventually(async () => {
        const i = await instance(timedOut);
        expect(i).toMatchObject({ phase: 'compensating', currentStep: 'undo retire-apis' });
        expect(i.steps[1]).toMatchObject({ name: 'retire-apis', status: 'timed-out' });
        expect((await scrape('users')).value('platform_saga_timeouts_fired_total', saga)).toBeGreaterThanOrEqual(1);
      }, { timeoutMs: CLOSURE_STEP_TIMEOUT_MS * 4, intervalMs: 250 });
    } finally {
      await platform.restart('endpoints');
    }
    // Back, endpoints answers late and restores; after the 1 s late-answer window the instance ends.
    const late = await ended(timedOut, 'compensated');
    expect(late.pendingTimeouts).toEqual([]);

    const all = (await httpJson<SagaSummary[]>('GET', users('/sagas/account-closure/instances'), undefined, platform.asOperator())).body;
    expect(all.map((i) => i.key).sort()).toEqual([completed, compensated, timedOut].sort());
    expect(Object.fromEntries(all.map((i) => [i.key, [i.status, i.currentStep, i.correlationId]]))).toEqual({
      [completed]: ['completed', null, correlations.completes],
      [compensated]: ['compensated', null, correlations.refused],
      [timedOut]: ['compensated', null, correlations.timesOut],
    });
    const views = await Promise.all(all.map((i) => instance(i.key)));
    const timeoutInputs = views.flatMap((v) => v.history.filter((h) => h.input.kind === 'timeout'));
    // The step's timeout; a compensation sent again while endpoints restarted, and the late-answer
    // window when the late answer had not come by the end of the compensations, add one each.
    expect(timeoutInputs.map((h) => h.input.name)).toContain('step:retire-apis');
    expect(timeoutInputs.every((h) => ['step:retire-apis', 'compensation:retire-apis', 'late-answers'].includes(h.input.name ?? ''))).toBe(true);
    const acknowledged = (step: string) => views.reduce((n, v) => n + (v.steps.find((s) => s.name === step)?.compensation?.acknowledgements ?? 0), 0);
    // The refused closure reopened the account; the timed-out one restored the APIs (twice if it retired them late) and reopened it.
    expect(acknowledged('close-account')).toBe(2);
    expect(acknowledged('retire-apis')).toBeGreaterThanOrEqual(1);

    const after = await eventually(async () => {
      const s = await scrape('users');
      expect(s.value('platform_saga_instances', { ...saga, state: 'compensated' })).toBe(2);
      return s;
    });
    expect(after.value('platform_saga_instances', { ...saga, state: 'completed' })).toBe(1);
    expect(after.value('platform_saga_instances', { ...saga, state: 'active' })).toBe(0);
    expect(after.value('platform_saga_instances', { ...saga, state: 'failed' })).toBe(0);
    expect(after.value('platform_saga_timeouts_pending', saga)).toBe(0);
    // Every timeout the saga was given fired once, and was timed: within 5 s of its due time.
    expect(after.value('platform_saga_timeouts_fired_total', saga)).toBe(timeoutInputs.length);
    expect(after.value('platform_saga_timeout_firing_lateness_seconds_count', saga)).toBe(timeoutInputs.length);
    expect(after.value('platform_saga_timeout_firing_lateness_seconds_bucket', { ...saga, le: '5' })).toBe(timeoutInputs.length);
    expect(after.value('platform_saga_timeout_firing_lateness_seconds_sum', saga)).toBeGreaterThanOrEqual(0);
    expect(after.value('platform_saga_steps_compensated_total', { ...saga, step: 'close-account' })).toBe(2);
    expect(after.value('platform_saga_steps_compensated_total', { ...saga, step: 'retire-apis' })).toBe(acknowledged('retire-apis'));

    // The listing API: filters, limits, refusals; services without sagas list none.
    expect((await httpJson('GET', users('/sagas'), undefined, platform.asOperator())).body).toEqual([{ name: 'account-closure', groupId: `${platform.namespace}.users.account-closure` }]);
    expect((await httpJson('GET', endpoints('/sagas'), undefined, platform.asOperator())).body).toEqual([]);
    expect((await httpJson<SagaSummary[]>('GET', users('/sagas/account-closure/instances?state=compensated'), undefined, platform.asOperator())).body.map((i) => i.key).sort()).toEqual([compensated, timedOut].sort());
    expect((await httpJson<SagaSummary[]>('GET', users('/sagas/account-closure/instances?limit=1'), undefined, platform.asOperator())).body.map((i) => i.key)).toEqual([timedOut]);
    expect((await httpJson('GET', users('/sagas/account-closure/instances?state=stuck'), undefined, platform.asOperator())).status).toBe(400);
    expect((await httpJson('GET', users('/sagas/account-closure/instances?limit=0'), undefined, platform.asOperator())).status).toBe(400);
    expect((await httpJson('GET', users('/sagas/no-such-saga/instances'), undefined, platform.asOperator())).status).toBe(404);
    expect((await httpJson('GET', users(`/sagas/account-closure/instances/${randomUUID()}`), undefined, platform.asOperator())).status).toBe(404);
    const detail = views.find((v) => v.key === completed)!;
    expect(detail.steps.map((s) => [s.name, s.status])).toEqual([['close-account', 'done'], ['retire-apis', 'done']]);
    expect(detail.history).toHaveLength(2);
  }, 240_000);
});

/**
 * Fault test on a broker of this spec's own: while Kafka is away a scrape still answers at once,
 * with messaging_kafka_up 0, the last known lag, and the events waiting in the outbox.
 */
describe('metrics while Kafka is away (users and notifications on a private broker)', () => {
  let kafka: PrivateKafka;
  let platform: TestPlatform | undefined;
  const scrape = (service: string) => scrapeService(platform!, service);
  const register = (name: string) =>
    httpJson<{ id: string }>('POST', `${platform!.service('users').url}/users`, { email: `${name}-${randomUUID()}@example.com`, displayName: name }, platform!.asOperator());

  beforeAll(async () => {
    kafka = await PrivateKafka.onFreePorts();
    await kafka.start();
    platform = new TestPlatform(['users', 'notifications'], { brokers: kafka.brokers });
    await platform.start();
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await kafka?.destroy();
  }, 120_000);

  it('answers scrapes at once with kafka_up 0, the last known lag and the outbox filling up, and recovers', async () => {
    expect((await register('before')).status).toBe(201);
    const welcomeGroup = `${platform!.namespace}.notifications.welcome`;
    await eventually(
      async () => {
        const s = await scrape('notifications');
        expect(s.value('messaging_events_handled_total', { use_case: 'welcome' })).toBe(1);
        expect(s.all('messaging_consumer_lag_messages', { group: welcomeGroup }).every((l) => l.value === 0)).toBe(true);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );

    await kafka.stop();
    const during = await register('during');
    expect(during.status).toBe(201);
    for (const service of ['users', 'notifications']) {
      const scraped = await eventually(
        async () => {
          const started = Date.now();
          const s = await scrape(service);
          // Lag is read with a 1.5 s budget: a scrape never waits for Kafka longer than that.
          expect(Date.now() - started).toBeLessThan(3000);
          expect(s.value('messaging_kafka_up')).toBe(0);
          return s;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      if (service === 'notifications') {
        // The last lag read before the outage is still shown.
        expect(scraped.all('messaging_consumer_lag_messages', { group: welcomeGroup }).length).toBeGreaterThan(0);
      }
    }
    // The event of the registration during the outage waits in the users outbox, and ages, while the relay's sends fail.
    const waiting = await eventually(
      async () => {
        const s = await scrape('users');
        expect(s.value('messaging_outbox_rows')).toBe(1);
        expect(s.value('messaging_outbox_oldest_row_age_seconds')).toBeGreaterThan(0);
        expect(s.value('messaging_relay_failures_total')).toBeGreaterThan(0);
        return s;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(waiting.value('messaging_relay_sent_total')).toBe(1);

    await kafka.start();
    await eventually(
      async () => {
        const users = await scrape('users');
        expect(users.value('messaging_kafka_up')).toBe(1);
        expect(users.value('messaging_outbox_rows')).toBe(0);
        expect(users.value('messaging_relay_sent_total')).toBe(2);
        const notifications = await scrape('notifications');
        expect(notifications.value('messaging_kafka_up')).toBe(1);
        expect(notifications.value('messaging_events_handled_total', { use_case: 'welcome' })).toBe(2);
        expect(notifications.all('messaging_consumer_lag_messages', { group: welcomeGroup }).every((l) => l.value === 0)).toBe(true);
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
  });
});
