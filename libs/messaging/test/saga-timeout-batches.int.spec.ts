import { randomUUID } from 'node:crypto';
import { NotificationSent, UserCreated } from '@platform/contracts';
import { byEventId, eventually, produceRaw, TopicReader } from '@platform/testing';
import { ServiceMessaging } from '../src';
import { OnboardingSaga } from './fixtures/onboarding.saga';
import { cloudEventMessage, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

describe('saga timeouts fired in batches (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;
  const saga = new OnboardingSaga();

  beforeAll(async () => {
    h = await messagingHarness('saga_timeout_batches');
    saga.reminderAfterMs = 3_600_000;
    messaging = new ServiceMessaging({ service: 'sagas', broker: h.broker, naming: h.naming, pool: h.db.pool, publishes: [NotificationSent], useCases: [saga], logger: h.logger });
    await messaging.start();
  });

  afterAll(async () => {
    await messaging?.stop();
    await h?.close();
  });

  it('fires the others of a batch once when one of them fails, and a second timeout of an instance after its first, on its new state', async () => {
    const group = messaging.consumers[0].groupId;
    const users = Array.from({ length: 40 }, () => randomUUID());
    // Its reminder stays an hour ahead; its `boom` comes due with the others' reminders.
    const failing = randomUUID();
    const reader = await new TopicReader(h.brokers, [h.naming.topic(NotificationSent), messaging.consumers[0].deadLetterTopic]).start();
    try {
      await produceRaw(h.brokers, h.naming.topic(UserCreated), [...users, failing].map((userId) => cloudEventMessage(UserCreated, { userId, email: `${userId.slice(0, 8)}@example.com`, displayName: 'Ada' })));
      const pending = async () => (await h.db.pool.query<{ name: string }>('SELECT name FROM messaging.saga_timeouts WHERE saga = $1', [group])).rows;
      await eventually(async () => expect(await pending()).toHaveLength(users.length + 1), { timeoutMs: 30_000 });

      // All due at once, in one batch: the failing `boom` first, then the reminders, and a second
      // timeout of one instance, which fires after its first, on the state that one left: ended.
      await h.db.pool.query(
        `INSERT INTO messaging.saga_timeouts (id, saga, instance_key, name, due_at, data)
         VALUES ($1, $2, $3, 'boom', clock_timestamp() + interval '1 s', '{}'), ($4, $2, $5, 'second', clock_timestamp() + interval '1002 ms', $6)`,
        [randomUUID(), group, failing, randomUUID(), users[1], JSON.stringify({ userId: users[1] })],
      );
      await h.db.pool.query(`UPDATE messaging.saga_timeouts SET due_at = clock_timestamp() + interval '1001 ms' WHERE saga = $1 AND instance_key <> $2`, [group, failing]);

      const reminders = () => reader.messages.filter((m) => m.topic === h.naming.topic(NotificationSent));
      await eventually(() => expect(byEventId(reminders()).size).toBe(users.length), { timeoutMs: 30_000 });
      await eventually(async () => expect(await pending()).toEqual([{ name: 'reminder' }]), { timeoutMs: 30_000 });
      const perUser = new Map<string, number>();
      for (const [, copies] of byEventId(reminders())) perUser.set(copies[0].key!, (perUser.get(copies[0].key!) ?? 0) + 1);
      expect(users.filter((u) => perUser.get(u) !== 1)).toEqual([]);
      const { rows } = await h.db.pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM messaging.saga_instances WHERE saga = $1 GROUP BY status', [group]);
      expect(rows.sort((a, b) => a.status.localeCompare(b.status))).toEqual([
        { status: 'active', n: 1 },
        { status: 'completed', n: users.length },
      ]);
      // boom failed on its own: retried, then dead-lettered.
      await eventually(() => expect(reader.messages.filter((m) => m.headers['saga_timeout_name'] === 'boom').map((m) => m.headers['saga_instance'])).toEqual([failing]), {
        timeoutMs: 30_000,
      });
    } finally {
      await reader.stop();
    }
  });
});
