import { Controller, HttpCode, Inject, Injectable, Module, Post, type INestApplication } from '@nestjs/common';
import { UserCreated } from '@platform/contracts';
import { KafkaNaming, OutboxPublisher, type EnvelopeOf, type HandlerContext, type UseCase } from '@platform/messaging';
import { createTestDatabase, ensureKafka, eventually, TestTokens, TopicReader, uniqueName, type TestDatabase } from '@platform/testing';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { configureProcessLogger, CorrelationId, createServiceApp, DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, DEVELOPMENT_JWT_SECRET, MessagingLifecycle, serviceLogger, ServiceKitModule, Transactions } from '../src';

/**
 * A service built on the kit, in this process, its log lines captured: a real HTTP request
 * publishes through the outbox, the relay sends it to the real broker, a use case of the
 * service handles it. Both sides' lines must name the request that caused them.
 */
const SERVICE = 'logs';

@Injectable()
class GreetOnSignup implements UseCase<readonly [typeof UserCreated]> {
  readonly name = 'greet';
  readonly events = [UserCreated] as const;
  async handle(event: EnvelopeOf<readonly [typeof UserCreated]>, { logger }: HandlerContext): Promise<void> {
    logger.info('greeting a new user', { userId: event.payload.userId });
  }
}

@Controller('signups')
class SignupController {
  private readonly logger = serviceLogger('Signups');
  constructor(
    @Inject(Transactions) private readonly transactions: Transactions,
    @Inject(OutboxPublisher) private readonly publisher: OutboxPublisher,
  ) {}

  @Post()
  @HttpCode(202)
  async signup(@CorrelationId() correlationId: string): Promise<{ userId: string }> {
    const userId = randomUUID();
    this.logger.info('signing up', { userId });
    await this.transactions.run((tx) => this.publisher.publish(tx.sql, UserCreated, { userId, email: `${userId}@example.com`, displayName: 'Ada' }, { correlationId }));
    return { userId };
  }

  @Post('broken')
  broken(): never {
    throw new Error('the signup store is on fire');
  }
}

@Module({
  imports: [ServiceKitModule.forRoot({ service: SERVICE, defaultPort: 3999, entities: [], migrations: [], publishes: [UserCreated], useCases: [GreetOnSignup] })],
  controllers: [SignupController],
  providers: [GreetOnSignup],
})
class LogsTestModule {}

type Line = Record<string, unknown>;

/** No AUTH_* variable is set here: the kit verifies tokens signed with the development secret. */
const devTokens = new TestTokens(DEVELOPMENT_JWT_SECRET, DEVELOPMENT_ISSUER, DEVELOPMENT_AUDIENCE);
const asUser = () => devTokens.asUser(randomUUID());

describe('log lines of a request and of the message it caused', () => {
  const lines: Line[] = [];
  const namespace = uniqueName('logs').replace(/_/g, '-');
  let db: TestDatabase;
  let app: INestApplication;
  let url: string;
  let brokers: string[];

  beforeAll(async () => {
    brokers = await ensureKafka();
    db = await createTestDatabase('logs');
    const destination = new Writable({ write: (chunk, _encoding, done) => (lines.push(...String(chunk).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line)), done()) });
    const root = configureProcessLogger({ service: SERVICE, level: 'debug', format: 'json', destination });
    // The kit reads its configuration from the environment when Nest builds the module.
    const saved = { ...process.env };
    Object.assign(process.env, { DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_NAMESPACE: namespace });
    try {
      app = await createServiceApp(LogsTestModule, { title: 'logs', description: 'log lines under test' }, root);
    } finally {
      process.env = saved;
    }
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
    await eventually(async () => expect(await (await fetch(`${url}/health/ready`)).json()).toMatchObject({ status: 'up' }), { timeoutMs: 60_000, intervalMs: 200 });
  }, 90_000);

  afterAll(async () => {
    // Close only once messaging has started: a kafkajs consumer that crashed while starting (its
    // topics just created) restarts itself on a timer a close in between does not clear.
    await eventually(async () => expect(app?.get(MessagingLifecycle).running).toBeDefined(), { timeoutMs: 30_000, intervalMs: 100 }).catch(() => undefined);
    const admin = await app?.get(MessagingLifecycle).adminClient().catch(() => undefined);
    const topics = (await admin?.listTopics().catch(() => [] as string[])) ?? [];
    await admin?.deleteTopics(topics.filter((t) => t.startsWith(`${namespace}.`))).catch(() => undefined);
    await app?.close();
    await db?.drop();
  }, 60_000);

  it('carry the service, level, correlation id and trace id; the consumer side also the group, topic, partition and offset', async () => {
    const correlationId = `logs-${randomUUID()}`;
    const traceId = randomUUID().replace(/-/g, '');
    const response = await fetch(`${url}/signups`, {
      method: 'POST',
      headers: { 'x-correlation-id': correlationId, traceparent: `00-${traceId}-00f067aa0ba902b7-01`, ...asUser() },
    });
    expect(response.status).toBe(202);
    const { userId } = (await response.json()) as { userId: string };

    const naming = new KafkaNaming(namespace);
    const topic = naming.topic(UserCreated);
    const reader = await new TopicReader(brokers, [topic]).start();
    try {
      const sent = await eventually(() => {
        const found = reader.messages.find((m) => m.headers['ce_correlationid'] === correlationId);
        if (!found) throw new Error('the event is not in Kafka yet');
        return found;
      }, { timeoutMs: 30_000 });
      const greeted = await eventually(() => {
        const found = lines.find((l) => l['msg'] === 'greeting a new user');
        if (!found) throw new Error(`no consumer line yet; lines: ${lines.map((l) => l['msg']).join(' | ')}`);
        return found;
      }, { timeoutMs: 30_000 });

      const request = lines.find((l) => l['msg'] === 'request completed' && l['route'] === '/signups');
      expect(request).toMatchObject({ service: SERVICE, level: 'info', correlationId, traceId, method: 'POST', status: 202, durationMs: expect.any(Number) });
      expect(request).not.toHaveProperty('req');
      expect(lines.find((l) => l['msg'] === 'signing up')).toMatchObject({ service: SERVICE, level: 'info', context: 'Signups', correlationId, traceId, userId });
      expect(greeted).toMatchObject({
        service: SERVICE,
        level: 'info',
        correlationId,
        traceId,
        group: naming.useCase(SERVICE, new GreetOnSignup()).groupId,
        topic,
        partition: sent.partition,
        offset: sent.offset,
        userId,
      });
      // The trace went on with the event: the outbox row carried the request's traceparent.
      expect(sent.headers['traceparent']).toMatch(new RegExp(`^00-${traceId}-`));
    } finally {
      await reader.stop();
    }
  }, 90_000);

  it('log probes at debug, not info', async () => {
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    const probes = await eventually(() => {
      const found = lines.filter((l) => l['msg'] === 'request completed' && (l['route'] === '/health/live' || l['route'] === '/metrics'));
      expect(found.length).toBeGreaterThanOrEqual(2);
      return found;
    });
    expect(new Set(probes.map((l) => l['level']))).toEqual(new Set(['debug']));
  });

  it('give a request without correlation id or trace new ones, the same on all its lines', async () => {
    const before = lines.length;
    expect((await fetch(`${url}/signups`, { method: 'POST', headers: asUser() })).status).toBe(202);
    const mine = await eventually(() => {
      const found = lines.slice(before).filter((l) => l['msg'] === 'signing up' || (l['msg'] === 'request completed' && l['route'] === '/signups'));
      expect(found).toHaveLength(2);
      return found;
    });
    const [a, b] = mine;
    expect(a['correlationId']).toEqual(expect.any(String));
    expect(a['traceId']).toMatch(/^[0-9a-f]{32}$/);
    expect([b['correlationId'], b['traceId']]).toEqual([a['correlationId'], a['traceId']]);
  });

  it("log a failed request at error, and Nest's own line about the failure in the request's context", async () => {
    const correlationId = `broken-${randomUUID()}`;
    expect((await fetch(`${url}/signups/broken`, { method: 'POST', headers: { 'x-correlation-id': correlationId, ...asUser() } })).status).toBe(500);
    const mine = await eventually(() => {
      const found = lines.filter((l) => l['correlationId'] === correlationId);
      expect(found).toHaveLength(2);
      return found;
    });
    expect(mine.find((l) => l['msg'] === 'request errored')).toMatchObject({ level: 'error', route: '/signups/broken', status: 500 });
    expect(mine.find((l) => l['context'] === 'ExceptionsHandler')).toMatchObject({ level: 'error', err: { message: 'the signup store is on fire' } });
  });
});
