import { ServiceProcess, TestPlatform, eventually, freePort, httpJson } from '@platform/testing';

interface User {
  id: string;
}
interface Notification {
  userId: string;
  kind: string;
  subject: string;
  body: string;
  channel: string;
  templateId: string | null;
  templateRevision: number | null;
}
interface ValidationFailure {
  fields: { field: string }[];
}

/**
 * The four services as real processes on a real broker and real databases, driven over HTTP
 * only, the way a user of the platform sees it.
 */
describe('walking skeleton (four services, Kafka, PostgreSQL)', () => {
  const platform = new TestPlatform();

  beforeAll(async () => {
    await platform.start();
  }, 180_000);

  afterAll(async () => {
    await platform.stop();
  }, 60_000);

  const post = <T>(service: string, path: string, body: unknown) => httpJson<T>('POST', `${platform.service(service).url}${path}`, body);
  const get = <T>(service: string, path: string) => httpJson<T>('GET', `${platform.service(service).url}${path}`);

  it('gives a user registered over HTTP a welcome notification readable over HTTP within 5 s', async () => {
    const started = Date.now();
    const { status, body: user } = await post<User>('users', '/users', { email: `e2e-${Date.now()}@example.com`, displayName: 'Edsger' });
    expect(status).toBe(201);
    const notifications = await eventually(
      async () => {
        const { body } = await get<Notification[]>('notifications', `/users/${user.id}/notifications`);
        expect(body).toHaveLength(1);
        return body;
      },
      { timeoutMs: 5000, intervalMs: 50 },
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(5000);
    expect(notifications[0]).toMatchObject({ userId: user.id, kind: 'welcome', subject: 'Welcome, Edsger' });
  });

  it('renders welcomes from the latest template notifications learned through TemplateUpdated', async () => {
    const created = await post<{ id: string }>('templates', '/templates', { name: 'welcome', channel: 'in-app', subject: 'Hi {{displayName}}!', body: 'Glad you came, {{displayName}}.' });
    expect(created.status).toBe(201);
    // The template reaches notifications through Kafka; users registered after that see it.
    await eventually(
      async () => {
        const { body: user } = await post<User>('users', '/users', { email: `tpl-${Date.now()}-${Math.random()}@example.com`, displayName: 'Barbara' });
        const { body } = await eventually(async () => {
          const result = await get<Notification[]>('notifications', `/users/${user.id}/notifications`);
          expect(result.body).toHaveLength(1);
          return result;
        });
        expect(body[0]).toMatchObject({ subject: 'Hi Barbara!', body: 'Glad you came, Barbara.', channel: 'in-app', templateId: created.body.id, templateRevision: 1 });
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
  });

  it('answers invalid request bodies with 400 and the offending fields, on every service', async () => {
    const cases: [string, string, unknown, string[]][] = [
      ['users', '/users', { email: 'not-an-email', displayName: '' }, ['email', 'displayName']],
      ['templates', '/templates', { name: 'Bad Name', channel: 'fax', subject: 'x', body: 'y', extra: true }, ['extra', 'name', 'channel']],
      ['endpoints', '/apis', { ownerId: 'nope', name: '', basePath: 'no-slash' }, ['ownerId', 'name', 'basePath']],
    ];
    for (const [service, path, body, fields] of cases) {
      const response = await post<ValidationFailure>(service, path, body);
      expect(response.status).toBe(400);
      expect(response.body.fields.map((f) => f.field).sort()).toEqual([...fields].sort());
    }
    const malformed = await fetch(`${platform.service('users').url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
    expect(malformed.status).toBe(400);
  });

  it('serves OpenAPI at /docs and /docs-json and health at /health/live and /health/ready', async () => {
    for (const name of ['users', 'endpoints', 'templates', 'notifications']) {
      const service = platform.service(name);
      const json = await get<{ openapi: string }>(name, '/docs-json');
      expect(json.status).toBe(200);
      expect(json.body.openapi).toMatch(/^3\./);
      expect((await fetch(`${service.url}/docs`)).status).toBe(200);
      expect((await get(name, '/health/live')).body).toEqual({ status: 'up' });
      expect((await get(name, '/health/ready')).body).toMatchObject({ status: 'up', checks: { database: { status: 'up' }, kafka: { status: 'up' } } });
    }
  });

  it('refuses to start on bad configuration, naming the variable', async () => {
    const broken = new ServiceProcess('users', await freePort(), { PORT: 'eighty', KAFKA_BROKERS: 'no-port-here' }).start();
    expect(await broken.exited()).toBe(78);
    expect(broken.logs()).toContain('PORT must be an integer between 1 and 65535 (got "eighty")');
    expect(broken.logs()).toContain('KAFKA_BROKERS entries must be host:port (got "no-port-here")');
  });

  it('stops gracefully on SIGTERM: exit code 0 well within the shutdown deadline', async () => {
    const templates = platform.service('templates');
    const started = Date.now();
    expect(await templates.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    await platform.restart('templates');
  });
});

