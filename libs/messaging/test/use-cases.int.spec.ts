import { withTransaction } from '@platform/core';
import { randomUUID } from 'node:crypto';
import { TemplateUpdated, UserCreated } from '@platform/contracts';
import { CE, DLQ, ServiceMessaging, UseCaseConsumer, USE_CASE_TOPIC_RETENTION_MS, type BrokerAdmin, type EnvelopeOf, type HandlerContext, type UseCase } from '../src';
import { eventually, produceRaw, TopicReader } from '@platform/testing';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(90_000);

/** Records what it handled in a table of the service database, in the inbox transaction. */
class RecordingUseCase<E extends readonly (typeof UserCreated | typeof TemplateUpdated)[]> implements UseCase<E> {
  constructor(readonly name: string, readonly events: E) {}

  async handle(event: EnvelopeOf<E>, { tx }: HandlerContext): Promise<void> {
    await tx.query('INSERT INTO handled (use_case, event_id, event_type, event_key) VALUES ($1, $2, $3, $4)', [this.name, event.id, event.type, event.key]);
  }
}

describe('use cases: one consumer group each (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;
  let admin: BrokerAdmin;
  const welcome = new RecordingUseCase('welcome', [UserCreated] as const);
  const audit = new RecordingUseCase('signup-audit', [UserCreated] as const);
  const templates = new RecordingUseCase('template-cache', [TemplateUpdated] as const);

  const handled = async (useCase: string) =>
    (await h.db.pool.query<{ event_id: string; event_type: string; event_key: string }>('SELECT event_id, event_type, event_key FROM handled WHERE use_case = $1', [useCase])).rows;

  const registerUsers = (count: number) =>
    withTransaction(h.db.pool, (tx) =>
      messaging.publishAll(
        tx,
        Array.from({ length: count }, (_, i) => ({ event: UserCreated, payload: { userId: randomUUID(), email: `u${i}@example.com`, displayName: `User ${i}` } })),
      ),
    );

  beforeAll(async () => {
    h = await messagingHarness('usecases');
    await h.db.pool.query('CREATE TABLE handled (use_case text, event_id uuid, event_type text, event_key text)');
    messaging = new ServiceMessaging({
      service: 'notifications',
      broker: h.broker,
      naming: h.naming,
      pool: h.db.pool,
      publishes: [UserCreated, TemplateUpdated],
      useCases: [welcome, audit, templates],
      logger: h.logger,
    });
    await messaging.start();
    admin = await h.broker.admin();
  });

  afterAll(async () => {
    await messaging?.stop();
    await admin?.disconnect();
    await h?.close();
  });

  it('names each group <service>.<use-case>', () => {
    expect(messaging.consumers.map((c) => c.groupId)).toEqual([
      `${h.naming.namespace}.notifications.welcome`,
      `${h.naming.namespace}.notifications.signup-audit`,
      `${h.naming.namespace}.notifications.template-cache`,
    ]);
  });

  it('delivers every event to each of two use cases on the same event type, each committing its own offsets', async () => {
    const events = await registerUsers(40);
    const ids = events.map((e) => e.id).sort();
    await eventually(async () => expect((await handled('welcome')).map((r) => r.event_id).sort()).toEqual(ids), { timeoutMs: 30_000 });
    await eventually(async () => expect((await handled('signup-audit')).map((r) => r.event_id).sort()).toEqual(ids), { timeoutMs: 30_000 });

    const topic = h.naming.topic(UserCreated);
    const end = await admin.endOffsets(topic);
    const total = (offsets: { offset: string }[]) => offsets.reduce((sum, o) => sum + Math.max(0, Number(o.offset)), 0);
    expect(total(end)).toBe(40);
    for (const consumer of messaging.consumers.slice(0, 2)) {
      await eventually(async () => expect(total(await admin.committedOffsets(consumer.groupId, [topic]))).toBe(40));
    }
  });

  it('never assigns a use case a topic it did not declare (beside its own redrive topic)', async () => {
    await withTransaction(h.db.pool, (tx) => messaging.publish(tx, TemplateUpdated, TemplateUpdated.contract.examples.valid));
    await eventually(async () => expect(await handled('template-cache')).toHaveLength(1), { timeoutMs: 30_000 });

    for (const consumer of messaging.consumers) {
      const group = await admin.describeGroup(consumer.groupId);
      const assignedTopics = new Set(group.members.flatMap((m) => m.assigned.map((a) => a.topic)));
      expect([...assignedTopics].sort()).toEqual([...consumer.topics, consumer.redriveTopic].sort());
    }
    const templateTopic = h.naming.topic(TemplateUpdated);
    const welcomeOffsets = await admin.committedOffsets(messaging.consumers[0].groupId, [templateTopic]);
    expect(welcomeOffsets.every((o) => o.offset === '-1')).toBe(true);
    expect((await handled('welcome')).every((r) => r.event_type === UserCreated.contract.ceType)).toBe(true);
  });

  it('dead-letters an invalid payload and a malformed message at once, without crashing, and handles the valid events after them', async () => {
    const topic = h.naming.topic(UserCreated);
    const key = randomUUID();
    const headers = (id: string) => ({
      [CE.id]: id,
      [CE.type]: UserCreated.contract.ceType,
      [CE.source]: '/services/somebody-else',
      [CE.time]: new Date().toISOString(),
      [CE.specversion]: '1.0',
      [CE.contentType]: 'application/json',
    });
    const validId = randomUUID();
    // One key, so one partition: the valid event comes strictly after the two bad ones.
    await produceRaw(h.brokers, topic, [
      { key, value: JSON.stringify(UserCreated.contract.examples.invalid), headers: headers(randomUUID()) },
      { key, value: '{not json', headers: headers(randomUUID()) },
      { key, value: JSON.stringify({ userId: key, email: 'valid@example.com', displayName: 'Valid' }), headers: headers(validId) },
    ]);
    await eventually(async () => expect((await handled('welcome')).map((r) => r.event_id)).toContain(validId), { timeoutMs: 30_000 });
    expect((await handled('welcome')).filter((r) => r.event_key === key)).toHaveLength(1);
    expect(messaging.consumers.map((c) => c.status)).toEqual(['running', 'running', 'running']);

    const dlq = await new TopicReader(h.brokers, [messaging.consumers[0].deadLetterTopic]).start();
    try {
      await eventually(() => expect(dlq.messages.filter((m) => m.key === key)).toHaveLength(2), { timeoutMs: 15_000 });
      const [invalid, malformed] = dlq.messages.filter((m) => m.key === key);
      expect(invalid.headers).toMatchObject({ [DLQ.reason]: 'invalid-payload', [DLQ.attempts]: '1', [DLQ.originalTopic]: topic, [DLQ.consumerGroup]: messaging.consumers[0].groupId });
      expect(invalid.headers[DLQ.errorMessage]).toMatch(/Invalid users.user-created payload/);
      expect(invalid.value).toBe(JSON.stringify(UserCreated.contract.examples.invalid));
      expect(malformed.headers[DLQ.errorMessage]).toMatch(/not JSON/);
      expect(Number(malformed.headers[DLQ.originalOffset])).toBe(Number(invalid.headers[DLQ.originalOffset]) + 1);
    } finally {
      await dlq.stop();
    }
  });

  it('has no second effect when the same event is delivered again (inbox)', async () => {
    const topic = h.naming.topic(UserCreated);
    const id = randomUUID();
    const userId = randomUUID();
    const message = {
      key: userId,
      value: JSON.stringify({ userId, email: 'twice@example.com', displayName: 'Twice' }),
      headers: { [CE.id]: id, [CE.type]: UserCreated.contract.ceType, [CE.source]: '/services/users', [CE.time]: new Date().toISOString(), [CE.specversion]: '1.0' },
    };
    await produceRaw(h.brokers, topic, [message, message]);
    const marker = (await registerUsers(1))[0].id;
    await eventually(async () => expect((await handled('welcome')).map((r) => r.event_id)).toContain(marker), { timeoutMs: 30_000 });
    expect((await handled('welcome')).filter((r) => r.event_id === id)).toHaveLength(1);
  });

  it('deletes inbox records once Kafka could no longer deliver their event again, and only its own group\'s', async () => {
    const [welcome, audit] = messaging.consumers as UseCaseConsumer[];
    const inboxOf = async (group: string) => Number((await h.db.pool.query('SELECT count(*) FROM messaging.inbox WHERE consumer_group = $1', [group])).rows[0].count);
    const before = await inboxOf(welcome.groupId);
    const others = await inboxOf(audit.groupId);
    expect(before).toBeGreaterThan(0);
    // UserCreated is kept 7 days, the redrive topic 14: records stay 15 days.
    expect(welcome.inboxRetentionMs).toBe(USE_CASE_TOPIC_RETENTION_MS + 24 * 60 * 60 * 1000);
    expect(await welcome.pruneInbox()).toBe(0);
    expect(await welcome.pruneInbox(Date.now() + welcome.inboxRetentionMs - 60_000)).toBe(0);
    expect(await welcome.pruneInbox(Date.now() + welcome.inboxRetentionMs + 60_000)).toBe(before);
    expect(await inboxOf(welcome.groupId)).toBe(0);
    expect(await inboxOf(audit.groupId)).toBe(others);
  });

  it('runs afterCommit callbacks once the effects are committed, once per event, never for a rolled-back attempt', async () => {
    const userId = randomUUID();
    const failOnce = new Set<string>();
    const calls: { eventId: string; committed: Promise<number> }[] = [];
    const hooks: UseCase<readonly [typeof UserCreated]> = {
      name: 'commit-hooks',
      events: [UserCreated] as const,
      retry: { initialBackoffMs: 10, maxBackoffMs: 50 },
      async handle(event, { tx, afterCommit }) {
        await tx.query('INSERT INTO handled (use_case, event_id, event_type, event_key) VALUES ($1, $2, $3, $4)', ['commit-hooks', event.id, event.type, event.key]);
        // Seen from another connection: the row is there only if the transaction committed.
        afterCommit(() => calls.push({ eventId: event.id, committed: h.db.pool.query("SELECT 1 FROM handled WHERE use_case = 'commit-hooks' AND event_id = $1", [event.id]).then((r) => r.rowCount ?? 0) }));
        if (failOnce.delete(event.id)) throw new Error('transient failure after the callback was registered');
      },
    };
    const service = new ServiceMessaging({ service: 'hooks', broker: h.broker, naming: h.naming, pool: h.db.pool, publishes: [UserCreated], useCases: [hooks], logger: h.logger });
    await service.start();
    try {
      // One key, one partition: the five are handled as one run, which fails once on the third
      // and is redone one by one.
      const events = await withTransaction(h.db.pool, async (tx) => {
        const published = await service.publishAll(tx, Array.from({ length: 5 }, (_, i) => ({ event: UserCreated, payload: { userId, email: `hook${i}@example.com`, displayName: `Hook ${i}` } })));
        failOnce.add(published[2].id);
        return published;
      });
      // The group starts at the beginning of the topic: earlier tests' users come through too.
      const ours = () => calls.filter((c) => events.some((e) => e.id === c.eventId));
      await eventually(async () => expect(ours().map((c) => c.eventId).sort()).toEqual(events.map((e) => e.id).sort()), { timeoutMs: 30_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(failOnce.size).toBe(0);
      expect(ours()).toHaveLength(5);
      expect(await Promise.all(ours().map((c) => c.committed))).toEqual([1, 1, 1, 1, 1]);
    } finally {
      await service.stop();
    }
  });
});
