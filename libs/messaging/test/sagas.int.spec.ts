import { randomUUID } from 'node:crypto';
import { NotificationSent, UserCreated, UserDeactivated, UserRenamed } from '@platform/contracts';
import { eventually, produceRaw, sleep, TopicReader } from '@platform/testing';
import { ServiceMessaging } from '../src';
import { cloudEventMessage, messagingHarness, type MessagingHarness } from './harness';
import { OnboardingSaga } from './fixtures/onboarding.saga';

jest.setTimeout(120_000);

describe('sagas (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  const saga = new OnboardingSaga();
  const instances: ServiceMessaging[] = [];
  let group: string;

  const startInstance = async () => {
    const messaging = new ServiceMessaging({ service: 'sagas', broker: h.broker, naming: h.naming, pool: h.db.pool, publishes: [NotificationSent], useCases: [saga], logger: h.logger });
    instances.push(messaging);
    await messaging.start();
    group = messaging.consumers[0].groupId;
    return messaging;
  };
  const stopInstance = async (messaging: ServiceMessaging) => {
    await messaging.stop();
    instances.splice(instances.indexOf(messaging), 1);
  };
  const instance = async (userId: string) =>
    (
      await h.db.pool.query<{ status: string; state: Record<string, unknown>; early: unknown[]; version: number }>(
        'SELECT status, state, early, version FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2',
        [group, userId],
      )
    ).rows[0];
  const timeouts = async (userId: string) =>
    (await h.db.pool.query<{ name: string; attempts: number }>('SELECT name, attempts FROM messaging.saga_timeouts WHERE saga = $1 AND instance_key = $2', [group, userId])).rows;
  const send = (messages: ReturnType<typeof cloudEventMessage>[]) => Promise.all(messages.map((m) => produceRaw(h.brokers, h.naming.topic(eventOf(m)), [m])));
  const eventOf = (m: ReturnType<typeof cloudEventMessage>) => [UserCreated, UserRenamed, UserDeactivated].find((e) => e.contract.ceType === m.headers.ce_type)!;
  const created = (userId: string) => cloudEventMessage(UserCreated, { userId, email: `${userId.slice(0, 8)}@example.com`, displayName: 'Ada' });
  const renamed = (userId: string, n: number, partition?: number) => cloudEventMessage(UserRenamed, { userId, displayName: `name ${n}`, previousDisplayName: 'x' }, { partition });

  beforeAll(async () => {
    h = await messagingHarness('sagas');
    await startInstance();
  });

  afterAll(async () => {
    for (const messaging of [...instances]) await messaging.stop().catch(() => undefined);
    await h?.close();
  });

  it('serializes messages for one instance that arrive at once on different partitions: no lost update', async () => {
    saga.reminderAfterMs = 60_000;
    const userId = randomUUID();
    await send([created(userId)]);
    await eventually(async () => expect((await instance(userId))?.status).toBe('active'), { timeoutMs: 20_000 });
    // 30 renames spread over all six partitions (a partition count change would do this to a key).
    await Promise.all([0, 1, 2, 3, 4, 5].map((p) => produceRaw(h.brokers, h.naming.topic(UserRenamed), Array.from({ length: 5 }, (_, i) => renamed(userId, p * 5 + i, p)))));
    await eventually(async () => expect((await instance(userId))?.state).toMatchObject({ renames: 30 }), { timeoutMs: 30_000 });
    expect((await instance(userId)).version).toBe(31);
  });

  it('keeps messages that come before their instance and applies them, in order, once it starts', async () => {
    saga.reminderAfterMs = 60_000;
    const userId = randomUUID();
    await send([renamed(userId, 1)]);
    await eventually(async () => expect((await instance(userId))?.early).toHaveLength(1), { timeoutMs: 20_000 });
    await send([renamed(userId, 2)]);
    await eventually(async () => expect((await instance(userId))?.early).toHaveLength(2), { timeoutMs: 20_000 });
    expect((await instance(userId)).status).toBe('waiting');
    expect((await timeouts(userId)).map((t) => t.name)).toEqual(['$early-messages-expire']);
    await send([created(userId)]);
    await eventually(async () => expect(await instance(userId)).toMatchObject({ status: 'active', early: [], state: { created: true, renames: 2, name: 'name 2' } }), { timeoutMs: 20_000 });
    expect((await timeouts(userId)).map((t) => t.name)).toEqual(['reminder']);
  });

  it('fires a durable timeout exactly once, by whichever instance is up after a restart, and ignores messages for the ended instance', async () => {
    saga.reminderAfterMs = 2500;
    const userId = randomUUID();
    const reader = await new TopicReader(h.brokers, [h.naming.topic(NotificationSent)]).start();
    try {
      await send([created(userId)]);
      await eventually(async () => expect(await timeouts(userId)).toHaveLength(1), { timeoutMs: 20_000 });
      // The instance that scheduled it goes away before it is due; two others share the work.
      await stopInstance(instances[0]);
      await Promise.all([startInstance(), startInstance()]);
      await eventually(async () => expect((await instance(userId))?.status).toBe('completed'), { timeoutMs: 30_000 });
      await eventually(() => expect(reader.messages.filter((m) => JSON.parse(m.value ?? '{}').userId === userId)).toHaveLength(1), { timeoutMs: 20_000 });
      expect(await timeouts(userId)).toEqual([]);

      // A message for the ended instance is recorded in its history and changes nothing.
      await send([renamed(userId, 9)]);
      await eventually(async () => {
        const { rows } = await h.db.pool.query<{ input: { ignored?: string } }>('SELECT input FROM messaging.saga_history WHERE saga = $1 AND instance_key = $2 ORDER BY version', [group, userId]);
        expect(rows[rows.length - 1].input.ignored).toBe('completed');
      }, { timeoutMs: 20_000 });
      await sleep(500);
      expect((await instance(userId)).state).toMatchObject({ renames: 0 });
      expect(reader.messages.filter((m) => JSON.parse(m.value ?? '{}').userId === userId)).toHaveLength(1);
    } finally {
      await reader.stop();
    }
  });

  it('retries a failing timeout and dead-letters it after the budget, never leaving it stuck', async () => {
    saga.reminderAfterMs = 60_000;
    const userId = randomUUID();
    await send([created(userId)]);
    await eventually(async () => expect((await instance(userId))?.status).toBe('active'), { timeoutMs: 20_000 });
    await h.db.pool.query(
      `INSERT INTO messaging.saga_timeouts (id, saga, instance_key, name, due_at, data) VALUES ($1, $2, $3, 'boom', clock_timestamp(), '{}')`,
      [randomUUID(), group, userId],
    );
    const reader = await new TopicReader(h.brokers, [instances[0].consumers[0].deadLetterTopic]).start();
    try {
      await eventually(() => expect(reader.messages.filter((m) => m.headers['saga_instance'] === userId)).toHaveLength(1), { timeoutMs: 30_000 });
      const [letter] = reader.messages.filter((m) => m.headers['saga_instance'] === userId);
      expect(letter.headers).toMatchObject({ saga_timeout_name: 'boom', dlq_reason: 'retries-exhausted', dlq_attempts: '3', dlq_error_message: 'the boom timeout always fails' });
      expect((await timeouts(userId)).map((t) => t.name)).toEqual(['reminder']);
    } finally {
      await reader.stop();
    }
  });
});
