import { randomUUID } from 'node:crypto';
import { UserCreated } from '@platform/contracts';
import { PrivateKafka, TestPlatform, eventually, httpJson, waitForNoLag } from '@platform/testing';

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
 * by notifications through Kafka; APIs created on the event-sourced endpoints service. The
 * values are checked, not only the names.
 */
describe('metrics: /metrics in Prometheus format on every service (users, notifications, endpoints)', () => {
  const platform = new TestPlatform(['users', 'notifications', 'endpoints']);
  const N = 6;
  const userIds: string[] = [];
  const welcomeGroup = () => `${platform.namespace}.notifications.welcome`;

  const scrape = (service: string) => scrapeService(platform, service);

  beforeAll(async () => {
    await platform.start();
    for (let i = 0; i < N; i++) {
      const { status, body } = await httpJson<{ id: string }>('POST', `${platform.service('users').url}/users`, { email: `metrics-${randomUUID()}@example.com`, displayName: `Metric ${i}` });
      expect(status).toBe(201);
      userIds.push(body.id);
    }
    // Every welcome notification is there (read over HTTP: N requests on a route with an id).
    await eventually(
      async () => {
        for (const id of userIds) expect((await httpJson<unknown[]>('GET', `${platform.service('notifications').url}/users/${id}/notifications`)).body).toHaveLength(1);
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
    expect(notifications.all('messaging_events_handled_total').map((s) => s.labels['use_case']).sort()).toEqual(['endpoint-audit', 'endpoint-digest', 'template-cache', 'welcome']);
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
      const created = await httpJson('POST', `${platform.service('endpoints').url}/apis`, { ownerId: randomUUID(), name: `metrics ${i}`, basePath: '/orders' });
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
    const api = await httpJson<{ id: string }>('POST', `${platform.service('endpoints').url}/apis`, { ownerId: randomUUID(), name: 'windowed', basePath: '/orders' });
    expect(api.status).toBe(201);
    const added = await httpJson('POST', `${platform.service('endpoints').url}/apis/${api.body.id}/endpoints`, { method: 'GET', path: '/orders', upstreamUrl: 'http://orders.internal/v1' });
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
    const docs = await httpJson<{ paths: Record<string, unknown> }>('GET', `${platform.service('users').url}/docs-json`);
    expect(Object.keys(docs.body.paths)).not.toContain('/metrics');
  });
});

/**
 * Fault test on a broker of this spec's own: while Kafka is away a scrape still answers at once,
 * with messaging_kafka_up 0, the last known lag, and the events waiting in the outbox.
 */
describe('metrics while Kafka is away (users and notifications on a private broker)', () => {
  const kafka = new PrivateKafka(19_292);
  let platform: TestPlatform | undefined;
  const scrape = (service: string) => scrapeService(platform!, service);
  const register = (name: string) =>
    httpJson<{ id: string }>('POST', `${platform!.service('users').url}/users`, { email: `${name}-${randomUUID()}@example.com`, displayName: name });

  beforeAll(async () => {
    await kafka.start();
    platform = new TestPlatform(['users', 'notifications'], { brokers: kafka.brokers });
    await platform.start();
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await kafka.destroy();
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
