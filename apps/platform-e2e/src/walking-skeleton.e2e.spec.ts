import { NotificationSent, TemplateUpdated, UserCreated } from '@platform/contracts';
import { ServiceProcess, TestPlatform, TopicReader, byEventId, eventually, expectNoDeadLetters, freePort, httpJson, waitForNoLag } from '@platform/testing';

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
  const NOTIFICATIONS_USE_CASES = ['template-cache', 'welcome', 'endpoint-audit', 'endpoint-digest'].map((u) => `notifications.${u}`);
  let sent: TopicReader;

  beforeAll(async () => {
    await platform.start();
    sent = await new TopicReader(platform.brokers, [`${platform.namespace}.${NotificationSent.contract.topic}`]).start();
  }, 180_000);

  afterAll(async () => {
    await sent?.stop();
    await platform.stop();
  }, 60_000);

  const post = <T>(service: string, path: string, body: unknown) => httpJson<T>('POST', `${platform.service(service).url}${path}`, body, platform.asOperator());
  const get = <T>(service: string, path: string) => httpJson<T>('GET', `${platform.service(service).url}${path}`, undefined, platform.asOperator());
  const kafkaTopic = (event: { contract: { topic: string } }) => `${platform.namespace}.${event.contract.topic}`;

  /**
   * Each user was welcomed once, seen from outside the tables: once notifications has
   * committed every UserCreated and TemplateUpdated (handled or dead-lettered), each user has
   * one notification and one NotificationSent event (by ce_id: Kafka may hold one event twice),
   * and no dead-letter topic holds anything. (notifications has no unique constraint on a
   * welcome's cause: a second handling would show as a second row and a second event.)
   */
  async function expectWelcomedOnce(userIds: readonly string[]): Promise<void> {
    const group = (useCase: string) => `${platform.namespace}.notifications.${useCase}`;
    await waitForNoLag(platform.brokers, [group('welcome')], [kafkaTopic(UserCreated)]);
    await waitForNoLag(platform.brokers, [group('template-cache')], [kafkaTopic(TemplateUpdated)]);
    for (const userId of userIds) {
      expect((await get<Notification[]>('notifications', `/users/${userId}/notifications`)).body).toHaveLength(1);
      const ofUser = () => sent.messages.filter((m) => (JSON.parse(m.value ?? 'null') as NotificationSent).userId === userId);
      await eventually(() => expect(ofUser().length).toBeGreaterThan(0));
      expect(byEventId(ofUser()).size).toBe(1);
    }
    await expectNoDeadLetters(platform.brokers, platform.namespace, NOTIFICATIONS_USE_CASES);
  }

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
    await expectWelcomedOnce([user.id]);
  });

  it('renders welcomes from the latest template notifications learned through TemplateUpdated', async () => {
    const created = await post<{ id: string }>('templates', '/templates', { name: 'welcome', channel: 'in-app', subject: 'Hi {{displayName}}!', body: 'Glad you came, {{displayName}}.' });
    expect(created.status).toBe(201);
    // The template reaches notifications through Kafka; users registered after that see it.
    const registered: string[] = [];
    await eventually(
      async () => {
        const { body: user } = await post<User>('users', '/users', { email: `tpl-${Date.now()}-${Math.random()}@example.com`, displayName: 'Barbara' });
        registered.push(user.id);
        const { body } = await eventually(async () => {
          const result = await get<Notification[]>('notifications', `/users/${user.id}/notifications`);
          expect(result.body).toHaveLength(1);
          return result;
        });
        expect(body[0]).toMatchObject({ subject: 'Hi Barbara!', body: 'Glad you came, Barbara.', channel: 'in-app', templateId: created.body.id, templateRevision: 1 });
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    await expectWelcomedOnce(registered);
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
    const malformed = await fetch(`${platform.service('users').url}/users`, { method: 'POST', headers: { 'content-type': 'application/json', ...platform.asOperator() }, body: '{oops' });
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

