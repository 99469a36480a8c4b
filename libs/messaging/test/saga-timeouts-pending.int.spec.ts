import { randomUUID } from 'node:crypto';
import { NotificationSent } from '@platform/contracts';
import { withTransaction, type SqlClient } from '@platform/core';
import { applySqlMigrations, createTestDatabase, type TestDatabase } from '@platform/testing';
import { MESSAGING_MIGRATIONS, OutboxPublisher } from '../src';
import { appendHistory, cancelTimeouts, claimDueTimeouts, lockDueTimeouts, nextDueAt, SagaWriteBatch, saveInstance, scheduleTimeouts } from '../src/saga/saga-store';
import { TIMEOUT_TOPIC } from '../src/saga/timeout-firer';

jest.setTimeout(120_000);

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly 'Rows Removed by Filter'?: number;
  readonly 'Shared Hit Blocks': number;
  readonly 'Shared Read Blocks': number;
  readonly Plans?: readonly PlanNode[];
}

/** Runs the firer's own statements under EXPLAIN ANALYZE: the plan each one really gets, with what it touched. */
function explaining(client: SqlClient, plans: PlanNode[]): SqlClient {
  return {
    async query(text: string, values?: readonly unknown[]) {
      const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, values);
      plans.push(rows[0]['QUERY PLAN'][0].Plan);
      return { rows: [], rowCount: 0 };
    },
  } as SqlClient;
}

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

describe('100,000 pending saga timeouts cost nothing until they are due, nor while others fire (real PostgreSQL)', () => {
  let db: TestDatabase;
  const saga = 'pending.onboarding';

  beforeAll(async () => {
    db = await createTestDatabase('saga_pending');
    await applySqlMigrations(db.pool, MESSAGING_MIGRATIONS);
    // A day ahead, a millisecond apart; ten of them due already, and another saga's due one.
    await db.pool.query(
      `INSERT INTO messaging.saga_timeouts (id, saga, instance_key, name, due_at, data)
       SELECT gen_random_uuid(), $1, 'pending-' || i, 'reminder', clock_timestamp() + interval '1 day' + i * interval '1 ms', '{}'::jsonb FROM generate_series(1, 100000) i
       UNION ALL SELECT gen_random_uuid(), $1, 'due-' || i, 'reminder', clock_timestamp() - interval '1 s', '{}' FROM generate_series(1, 10) i
       UNION ALL SELECT gen_random_uuid(), 'another.saga', 'x', 'reminder', clock_timestamp() - interval '1 s', '{}'`,
      [saga],
    );
    await db.pool.query(`INSERT INTO messaging.saga_instances (saga, instance_key, status, state) SELECT saga, instance_key, 'active', '{}' FROM messaging.saga_timeouts`);
    // As a running service has them: autovacuum analyzes a table this size within a minute.
    await db.pool.query('ANALYZE messaging.saga_timeouts, messaging.saga_instances');
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('finds the due ones through the index, without reading the pending ones', async () => {
    const plans: PlanNode[] = [];
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await lockDueTimeouts(explaining(client, plans), saga, 50);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const all = nodes(plans[0]);
    expect(all.filter((n) => n['Relation Name'] === 'saga_timeouts').map((n) => [n['Node Type'], n['Index Name']])).toEqual([['Index Scan', 'saga_timeouts_due']]);
    expect(all.reduce((n, p) => n + (p['Rows Removed by Filter'] ?? 0), 0)).toBe(0);
    expect(plans[0]['Shared Hit Blocks'] + plans[0]['Shared Read Blocks']).toBeLessThan(30);
    // And the statement itself takes exactly the ten.
    expect(await lockDueTimeouts(db.pool, saga, 50)).toHaveLength(10);
  });

  it('leaves out the instances the firer backs off from through the same index, reading only their rows besides', async () => {
    const plans: PlanNode[] = [];
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await lockDueTimeouts(explaining(client, plans), saga, 50, ['due-1', 'due-2']);
      await claimDueTimeouts(explaining(client, plans), saga, 250, TIMEOUT_TOPIC, ['due-1', 'due-2']);
      await nextDueAt(explaining(client, plans), saga, ['due-1', 'due-2']);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    for (const plan of plans) {
      const all = nodes(plan);
      expect(all.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'])).toEqual([]);
      expect(all.filter((n) => n['Relation Name']).reduce((n, p) => n + (p['Rows Removed by Filter'] ?? 0), 0)).toBeLessThanOrEqual(2);
      expect(plan['Shared Hit Blocks'] + plan['Shared Read Blocks']).toBeLessThan(300);
    }
    expect((await lockDueTimeouts(db.pool, saga, 50, ['due-1', 'due-2'])).map((t) => t.key).sort()).toEqual(['due-10', 'due-3', 'due-4', 'due-5', 'due-6', 'due-7', 'due-8', 'due-9']);
  });

  it('claims the due ones with their instances through the indexes, without reading the pending ones', async () => {
    const plans: PlanNode[] = [];
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await claimDueTimeouts(explaining(client, plans), saga, 250, TIMEOUT_TOPIC);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const all = nodes(plans[0]);
    expect(all.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'])).toEqual([]);
    // Of the tables' rows, none read and thrown away (its own parts' rows it filters are its business).
    expect(all.filter((n) => n['Relation Name']).reduce((n, p) => n + (p['Rows Removed by Filter'] ?? 0), 0)).toBe(0);
    expect(plans[0]['Shared Hit Blocks'] + plans[0]['Shared Read Blocks']).toBeLessThan(300);
    const claimed = await withTransaction(db.pool, async (tx) => {
      const taken = await claimDueTimeouts(tx, saga, 250, TIMEOUT_TOPIC);
      throw Object.assign(new Error('rolled back'), { taken });
    }).catch((error: { taken: unknown[] }) => error.taken);
    expect(claimed).toHaveLength(10);
  });

  it("writes a batch of instances' steps and messages through the indexes", async () => {
    // 1,000 keys against 100,000 rows: about the ratio of a 250-timeout batch to the 30,000 rows
    // of \`npm run bench -- sagas --quick\`, where a join with the batch's keys hashed both tables.
    const keys = Array.from({ length: 1000 }, (_, i) => `pending-${i * 100 + 1}`);
    const batch = new SagaWriteBatch(saga);
    const publisher = new OutboxPublisher('pending', [NotificationSent]);
    for (const [i, key] of keys.entries()) {
      await cancelTimeouts(batch, saga, key);
      await appendHistory(batch, saga, key, 1, { kind: 'timeout', name: 'reminder' }, {});
      await saveInstance(batch, saga, key, { status: 'completed', state: {}, early: [], correlationId: null, version: 1 }, true);
      if (i % 2 === 0) await scheduleTimeouts(batch, saga, key, [{ name: 'again', dueAtMs: Date.now() + 86_400_000, data: null }]);
    }
    const messages = keys.map(() => ({ event: NotificationSent, payload: { notificationId: randomUUID(), userId: randomUUID(), kind: 'reminder', channel: 'email', subject: 'due' } }));
    const plans: PlanNode[] = [];
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await batch.flush(explaining(client, plans), publisher.outboxColumns(messages));
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(plans).toHaveLength(1);
    const all = nodes(plans[0]);
    expect(all.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'])).toEqual([]);
    expect(all.filter((n) => n['Node Type'] === 'ModifyTable').map((n) => n['Relation Name']).sort()).toEqual(['outbox', 'saga_history', 'saga_instances', 'saga_timeouts', 'saga_timeouts']);
  });

  it('reads the next due time, what the poll asks, from the end of the index', async () => {
    const plans: PlanNode[] = [];
    await nextDueAt(explaining(db.pool, plans), saga);
    const all = nodes(plans[0]);
    expect(all.some((n) => n['Node Type'] === 'Seq Scan')).toBe(false);
    expect(all.filter((n) => n['Relation Name'] === 'saga_timeouts').map((n) => n['Index Name'])).toEqual(['saga_timeouts_due']);
    expect(plans[0]['Shared Hit Blocks'] + plans[0]['Shared Read Blocks']).toBeLessThan(30);
  });
});
