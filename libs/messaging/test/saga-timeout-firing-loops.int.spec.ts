import { randomUUID } from 'node:crypto';
import { NotificationSent } from '@platform/contracts';
import { eventually } from '@platform/testing';
import type { Pool, PoolClient } from 'pg';
import { ServiceMessaging } from '../src';
import { OnboardingSaga } from './fixtures/onboarding.saga';
import { messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(120_000);

/**
 * The service's pool, watched: how many transactions at once hold due timeouts they fire (from
 * the claim that returned a firing timeout to their COMMIT or ROLLBACK).
 */
function watchedPool(pool: Pool): { pool: Pool; mostFiringAtOnce: () => number } {
  const firing = new Set<PoolClient>();
  let most = 0;
  const watched = Object.create(pool) as Pool;
  const watch = async (): Promise<PoolClient> => {
    const client = await pool.connect();
    const query = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<{ rows: { id?: string | null; firing?: boolean }[] }>;
    const proxy = Object.create(client) as PoolClient;
    proxy.query = (async (text: string, values?: unknown[]) => {
      const result = await query(text, values);
      // The claim (claimDueTimeouts): timeouts it fires come back with firing set.
      if (typeof text === 'string' && text.startsWith('WITH seen AS') && result.rows.some((r) => r.id && r.firing)) {
        firing.add(client);
        most = Math.max(most, firing.size);
      }
      if (text === 'COMMIT' || text === 'ROLLBACK') firing.delete(client);
      return result;
    }) as PoolClient['query'];
    proxy.release = (error?: Error | boolean) => {
      firing.delete(client);
      client.release(error);
    };
    return proxy;
  };
  // pg's own pool.query asks with a callback: handed the pool's client (it only runs one query).
  watched.connect = ((callback?: Parameters<Pool['connect']>[0]) => (callback ? pool.connect(callback) : watch())) as Pool['connect'];
  return { pool: watched, mostFiringAtOnce: () => most };
}

describe('saga timeouts: a burst is fired by two transactions at once (real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;
  const saga = new OnboardingSaga();
  let watched: ReturnType<typeof watchedPool>;

  beforeAll(async () => {
    h = await messagingHarness('saga_firing_loops');
    watched = watchedPool(h.db.pool);
    messaging = new ServiceMessaging({ service: 'sagas', broker: h.broker, naming: h.naming, pool: watched.pool, publishes: [NotificationSent], useCases: [saga], logger: h.logger });
    await messaging.start();
  });

  afterAll(async () => {
    await messaging?.stop();
    await h?.close();
  });

  it('starts the second transaction again when a batch finds more than one due, after it had found none', async () => {
    const group = messaging.consumers[0].groupId;
    const instances = (keys: readonly string[]) =>
      h.db.pool.query(
        `INSERT INTO messaging.saga_instances (saga, instance_key, status, state) SELECT $1, k, 'active', '{"created": true, "renames": 0, "name": "Ada"}' FROM unnest($2::text[]) AS k`,
        [group, keys],
      );
    const timeouts = (keys: readonly string[], name: string, dueIn: string, spreadMs: number) =>
      h.db.pool.query(
        `INSERT INTO messaging.saga_timeouts (id, saga, instance_key, name, due_at, data)
         SELECT gen_random_uuid(), $1, k, $3, clock_timestamp() + $4::interval + (i - 1) * $5::float8 * interval '1 ms', jsonb_build_object('userId', $6::text)
           FROM unnest($2::text[]) WITH ORDINALITY AS u(k, i)`,
        [group, keys, name, dueIn, spreadMs / keys.length, randomUUID()],
      );
    // First one timeout alone: one firing transaction takes it, the other finds nothing and ends.
    // Its step ends the instance and cancels the instance's other timeout, which this test holds
    // locked, so that transaction waits while a flow of 1,000 comes due behind it.
    const first = randomUUID();
    const flow = Array.from({ length: 1000 }, () => randomUUID());
    await instances([first, ...flow]);
    await timeouts([first], 'reminder', '2500 ms', 0);
    await timeouts([first], 'later', '1 day', 0);
    await timeouts(flow, 'reminder', '2600 ms', 100);
    const holder = await h.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM messaging.saga_timeouts WHERE saga = $1 AND instance_key = $2 AND name = 'later' FOR UPDATE`, [group, first]);
      const firstStarted = async () => (await h.db.pool.query(`SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.datname = current_database()`)).rowCount;
      await eventually(async () => expect(await firstStarted()).toBeGreaterThan(0), { timeoutMs: 10_000, intervalMs: 20 });
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }

    const fired = async () => (await h.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM messaging.saga_instances WHERE saga = $1 AND status = 'completed'`, [group])).rows[0].n;
    await eventually(async () => expect(await fired()).toBe(flow.length + 1), { timeoutMs: 60_000 });
    expect(watched.mostFiringAtOnce()).toBe(2);
  });
});
