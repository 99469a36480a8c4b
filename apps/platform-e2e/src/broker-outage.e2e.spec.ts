import { UserCreated } from '@platform/contracts';
import { PrivateKafka, TestPlatform, TopicReader, eventually, httpJson, type ReadinessBody } from '@platform/testing';

jest.setTimeout(240_000);

interface User {
  id: string;
}

/**
 * Fault test: the users service runs on a broker of this spec's own, which is stopped and
 * started again (never the shared one). While Kafka is away the service stays ready (HTTP 200,
 * 'degraded'), alive, and accepts writes into its outbox; when Kafka is back it reports 'up'
 * again and the events it accepted reach Kafka.
 */
describe('a broker outage is not an HTTP outage (users on a private broker)', () => {
  let kafka: PrivateKafka;
  let platform: TestPlatform | undefined;

  const users = () => platform!.service('users');
  const ready = () => httpJson<ReadinessBody>('GET', `${users().url}/health/ready`);
  const live = () => httpJson<{ status: string }>('GET', `${users().url}/health/live`);
  const register = (name: string) => httpJson<User>('POST', `${users().url}/users`, { email: `${name}-${Date.now()}@example.com`, displayName: name }, platform!.asOperator());

  beforeAll(async () => {
    kafka = await PrivateKafka.onFreePorts();
    await kafka.start();
    platform = new TestPlatform(['users'], { brokers: kafka.brokers });
    await platform.start();
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await kafka?.destroy();
  }, 120_000);

  it('stays ready (degraded) and alive, takes writes while Kafka is down, and delivers them when it returns', async () => {
    expect(await ready()).toMatchObject({ status: 200, body: { status: 'up', checks: { database: { status: 'up' }, migrations: { status: 'up' }, kafka: { status: 'up' } } } });
    const wentDown = users().countOutput('Kafka is unavailable');
    const cameBack = users().countOutput('Kafka is available again');
    const before = await register('before');
    expect(before.status).toBe(201);

    await kafka.stop();

    const degraded = await eventually(
      async () => {
        const answer = await ready();
        expect(answer).toMatchObject({ status: 200, body: { status: 'degraded', checks: { database: { status: 'up' }, migrations: { status: 'up' }, kafka: { status: 'down' } } } });
        return answer.body;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(degraded.checks.kafka.detail).toBeTruthy();

    // The API only writes to PostgreSQL: the outbox absorbs the events.
    const during = await register('during');
    expect(during.status).toBe(201);
    expect((await httpJson('GET', `${users().url}/users/${during.body.id}`, undefined, platform!.asOperator())).status).toBe(200);
    // Several more probes while down: still ready, still alive (nothing crashed for good).
    for (let i = 0; i < 3; i++) {
      expect(await ready()).toMatchObject({ status: 200, body: { status: 'degraded' } });
      expect(await live()).toEqual(expect.objectContaining({ status: 200, body: { status: 'up' } }));
    }

    await kafka.start();

    await eventually(async () => expect(await ready()).toMatchObject({ status: 200, body: { status: 'up', checks: { kafka: { status: 'up' } } } }), {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    const reader = await new TopicReader(kafka.brokers, [`${platform!.namespace}.${UserCreated.contract.topic}`]).start();
    try {
      await eventually(() => expect(reader.messages.map((m) => m.key)).toEqual(expect.arrayContaining([before.body.id, during.body.id])), { timeoutMs: 60_000, intervalMs: 500 });
    } finally {
      await reader.stop();
    }

    // Logged once per transition, not once per probe.
    expect({ wentDown: wentDown.count, cameBack: cameBack.count }).toEqual({ wentDown: 1, cameBack: 1 });
  });
});
