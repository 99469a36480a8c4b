import { NotificationSent } from '@platform/contracts';
import { eventually } from '@platform/testing';
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { ServiceMessaging } from '../src';
import { OnboardingSaga } from './fixtures/onboarding.saga';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(60_000);

/**
 * The service's pool, watched: how many claims (claimDueTimeouts) came back with a timeout they
 * could not fire because a message's transaction held its instance: the firer's attempts at it.
 */
function watchedPool(pool: Pool): { pool: Pool; heldAttempts: (id: string) => number } {
  const attempts = new Map<string, number>();
  const watched = Object.create(pool) as Pool;
  const watch = async (): Promise<PoolClient> => {
    const client = await pool.connect();
    const query = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<{ rows: { id?: string | null; firing?: boolean }[] }>;
    const proxy = Object.create(client) as PoolClient;
    proxy.query = (async (text: string, values?: unknown[]) => {
      const result = await query(text, values);
      if (typeof text === 'string' && text.startsWith('WITH seen AS')) {
        for (const row of result.rows) if (row.id && row.firing === false) attempts.set(row.id, (attempts.get(row.id) ?? 0) + 1);
      }
      return result;
    }) as PoolClient['query'];
    return proxy;
  };
  // pg's own pool.query asks with a callback: handed the pool's client (it only runs one query).
  watched.connect = ((callback?: Parameters<Pool['connect']>[0]) => (callback ? pool.connect(callback) : watch())) as Pool['connect'];
  return { pool: watched, heldAttempts: (id) => attempts.get(id) ?? 0 };
}

describe('saga timeouts: an instance held by a message is backed off from, not spun on (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;
  let watched: ReturnType<typeof watchedPool>;
  const saga = new OnboardingSaga();

  beforeAll(async () => {
    h = await messagingHarness('saga_timeout_held');
    watched = watchedPool(h.db.pool);
    messaging = new ServiceMessaging({ service: 'sagas', broker: h.broker, naming: h.naming, pool: watched.pool, publishes: [NotificationSent], useCases: [saga], logger: h.logger });
    await messaging.start();
  });

  afterAll(async () => {
    await messaging?.stop();
    await h?.close();
  });

  it('looks at the held instance a few times with growing pauses while the others fire on time, and fires it once when it is free', async () => {
    const group = messaging.consumers[0].groupId;
    const [held, free] = [randomUUID(), randomUUID()];
    await h.db.pool.query(
      `INSERT INTO messaging.saga_instances (saga, instance_key, status, state) SELECT $1, k, 'active', '{"created": true, "renames": 0, "name": "Ada"}' FROM unnest($2::text[]) AS k`,
      [group, [held, free]],
    );
    const timeout = async (key: string, dueInMs: number): Promise<string> => {
      const id = randomUUID();
      await h.db.pool.query(
        `INSERT INTO messaging.saga_timeouts (id, saga, instance_key, name, due_at, data) VALUES ($1, $2, $3, 'reminder', clock_timestamp() + $4 * interval '1 ms', jsonb_build_object('userId', $3::text))`,
        [id, group, key, dueInMs],
      );
      return id;
    };
    const statusOf = async (key: string) => (await h.db.pool.query<{ status: string }>('SELECT status FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2', [group, key])).rows[0].status;

    // A message's transaction holds the instance from before its timeout is due until 2.5 s after.
    const message = await h.db.pool.connect();
    try {
      await message.query('BEGIN');
      await message.query('SELECT 1 FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2 FOR UPDATE', [group, held]);
      const heldTimeout = await timeout(held, 200);
      // Due while the other is held and backed off from: fired on time all the same.
      await timeout(free, 1000);
      await eventually(async () => expect(watched.heldAttempts(heldTimeout)).toBeGreaterThan(0), { timeoutMs: 10_000, intervalMs: 20 });
      await eventually(async () => expect(await statusOf(free)).toBe('completed'), { timeoutMs: 2000, intervalMs: 20 });
      await new Promise((resolve) => setTimeout(resolve, 2500 - 200));
      // Looked at again after 20, 40, 80 ... ms, at most the poll interval (1 s): seven looks in
      // 2.5 s. Looked at again at once, it was a claim and a poll in a loop: hundreds.
      expect(watched.heldAttempts(heldTimeout)).toBeGreaterThanOrEqual(3);
      expect(watched.heldAttempts(heldTimeout)).toBeLessThanOrEqual(10);
      expect(await statusOf(held)).toBe('active');
    } finally {
      await message.query('ROLLBACK');
      message.release();
    }

    await eventually(async () => expect(await statusOf(held)).toBe('completed'), { timeoutMs: 5000, intervalMs: 20 });
    const history = await h.db.pool.query<{ input: { kind: string } }>('SELECT input FROM messaging.saga_history WHERE saga = $1 AND instance_key = $2', [group, held]);
    expect(history.rows.map((r) => r.input.kind)).toEqual(['timeout']);
    const timeouts = await h.db.pool.query('SELECT 1 FROM messaging.saga_timeouts WHERE saga = $1', [group]);
    expect(timeouts.rowCount).toBe(0);
  });
});
