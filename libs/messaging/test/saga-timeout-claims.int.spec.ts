import { randomUUID } from 'node:crypto';
import { NotificationSent } from '@platform/contracts';
import { withTransaction } from '@platform/core';
import { applySqlMigrations, createTestDatabase, type TestDatabase } from '@platform/testing';
import { MESSAGING_MIGRATIONS, OutboxPublisher, type PendingEvent } from '../src';
import { cancelTimeouts, claimDueTimeouts, SagaWriteBatch, scheduleTimeouts } from '../src/saga/saga-store';
import { TIMEOUT_TOPIC } from '../src/saga/timeout-firer';

jest.setTimeout(60_000);

/**
 * The two statements of a firing batch on their own: the claim (which timeouts a batch takes,
 * and which it leaves) and the batch's write (the steps' writes and messages in one statement).
 */
describe('saga timeout batches: the claim and the write (real PostgreSQL)', () => {
  let db: TestDatabase;
  const saga = 'claims.reminders';

  beforeAll(async () => {
    db = await createTestDatabase('saga_timeout_claims');
    await applySqlMigrations(db.pool, MESSAGING_MIGRATIONS);
  });

  afterAll(async () => {
    await db?.drop();
  });

  const instance = (key: string) =>
    db.pool.query(`INSERT INTO messaging.saga_instances (saga, instance_key, status, state, version) VALUES ($1, $2, 'active', '{"n": 1}', 3)`, [saga, key]);
  const timeout = async (key: string, name: string, dueInMs: number): Promise<string> => {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO messaging.saga_timeouts (id, saga, instance_key, name, due_at, data) VALUES ($1, $2, $3, $4, clock_timestamp() + $5 * interval '1 ms', $6)`,
      [id, saga, key, name, dueInMs, JSON.stringify({ name })],
    );
    return id;
  };
  const timeoutsOf = async (key: string) =>
    (await db.pool.query<{ name: string }>('SELECT name FROM messaging.saga_timeouts WHERE saga = $1 AND instance_key = $2 ORDER BY name', [saga, key])).rows.map((r) => r.name);
  /** Whether another transaction could lock the timeout now. */
  const lockable = async (id: string): Promise<boolean> => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1 FROM messaging.saga_timeouts WHERE id = $1 FOR UPDATE NOWAIT', [id]);
      return true;
    } catch {
      return false;
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  };

  it('takes the earliest due timeout of each instance with the instance, and leaves its later ones unlocked', async () => {
    const [x, y] = [randomUUID(), randomUUID()];
    await instance(x);
    await instance(y);
    const xFirst = await timeout(x, 'first', -2000);
    const xSecond = await timeout(x, 'second', -1000);
    const yOnly = await timeout(y, 'only', -1500);
    const pending = await timeout(y, 'later', 3_600_000);

    await withTransaction(db.pool, async (tx) => {
      const claimed = await claimDueTimeouts(tx, saga, 10, TIMEOUT_TOPIC);
      expect(claimed.map((c) => [c.id, c.name, c.firing, c.fresh])).toEqual([
        [xFirst, 'first', true, true],
        [yOnly, 'only', true, true],
      ]);
      expect(claimed[0].instance).toEqual({ status: 'active', state: { n: 1 }, early: [], correlationId: null, version: 3 });
      expect(claimed[0].data).toEqual({ name: 'first' });
      // A step firing x's first may cancel x's second; another batch must not be holding it.
      expect(await lockable(xSecond)).toBe(true);
      expect(await lockable(pending)).toBe(true);
    });

    expect(await timeoutsOf(x)).toEqual(['second']);
    expect(await timeoutsOf(y)).toEqual(['later']);
    const { rows } = await db.pool.query('SELECT event_id::text AS id, topic, partition FROM messaging.inbox WHERE consumer_group = $1 ORDER BY handled_at', [saga]);
    expect(rows.map((r) => r.id).sort()).toEqual([xFirst, yOnly].sort());
    expect(rows.every((r) => r.topic === TIMEOUT_TOPIC && r.partition === -1)).toBe(true);
    // The second comes next, now that it is the earliest.
    await withTransaction(db.pool, async (tx) => expect((await claimDueTimeouts(tx, saga, 10, TIMEOUT_TOPIC)).map((c) => c.id)).toEqual([xSecond]));
  });

  it('leaves a timeout whose instance a message holds, and fires one whose instance does not exist', async () => {
    const [held, missing] = [randomUUID(), randomUUID()];
    await instance(held);
    const heldTimeout = await timeout(held, 'reminder', -1000);
    const missingTimeout = await timeout(missing, 'reminder', -900);
    const message = await db.pool.connect();
    try {
      await message.query('BEGIN');
      await message.query('SELECT 1 FROM messaging.saga_instances WHERE saga = $1 AND instance_key = $2 FOR UPDATE', [saga, held]);
      await withTransaction(db.pool, async (tx) => {
        const claimed = await claimDueTimeouts(tx, saga, 10, TIMEOUT_TOPIC);
        expect(claimed.map((c) => [c.id, c.firing, c.instance])).toEqual([
          [heldTimeout, false, undefined],
          [missingTimeout, true, undefined],
        ]);
      });
    } finally {
      await message.query('ROLLBACK');
      message.release();
    }
    expect(await timeoutsOf(held)).toEqual(['reminder']);
    expect(await timeoutsOf(missing)).toEqual([]);
    const recorded = await db.pool.query('SELECT 1 FROM messaging.inbox WHERE consumer_group = $1 AND event_id = ANY($2::uuid[])', [saga, [heldTimeout, missingTimeout]]);
    expect(recorded.rowCount).toBe(1);
  });

  it('writes in one statement: a cancel then a schedule of one timeout leaves the schedule, a cancel of all then a schedule of one of them leaves that one', async () => {
    const [moved, cleared] = [randomUUID(), randomUUID()];
    for (const key of [moved, cleared]) await instance(key);
    await timeout(moved, 'reply', 60_000);
    await timeout(moved, 'other', 60_000);
    await timeout(cleared, 'reply', 60_000);
    await timeout(cleared, 'other', 60_000);
    const dueAtMs = Date.now() + 7_200_000;

    await withTransaction(db.pool, async (tx) => {
      const batch = new SagaWriteBatch(saga);
      await cancelTimeouts(batch, saga, moved, ['reply']);
      await scheduleTimeouts(batch, saga, moved, [{ name: 'reply', dueAtMs, data: { again: true } }]);
      await cancelTimeouts(batch, saga, cleared);
      await scheduleTimeouts(batch, saga, cleared, [{ name: 'reply', dueAtMs, data: { again: true } }]);
      await batch.flush(tx);
    });

    expect(await timeoutsOf(moved)).toEqual(['other', 'reply']);
    expect(await timeoutsOf(cleared)).toEqual(['reply']);
    const replies = await db.pool.query<{ due: number; data: unknown }>(
      `SELECT extract(epoch from due_at) * 1000 AS due, data FROM messaging.saga_timeouts WHERE saga = $1 AND instance_key = ANY($2) AND name = 'reply'`,
      [saga, [moved, cleared]],
    );
    for (const reply of replies.rows) {
      expect(Math.abs(Number(reply.due) - dueAtMs)).toBeLessThan(2);
      expect(reply.data).toEqual({ again: true });
    }
  });

  it('writes the messages of a batch as publishAll writes them, in order', async () => {
    const publisher = new OutboxPublisher('claims', [NotificationSent]);
    const userId = randomUUID();
    const events: PendingEvent[] = [1, 2, 3].map((n) => ({
      event: NotificationSent,
      payload: { notificationId: randomUUID(), userId, kind: 'reminder', channel: 'email', subject: `reminder ${n}` },
      metadata: { id: randomUUID(), time: new Date(), correlationId: 'c-1', causationId: 'cause-1' },
    }));
    const written = () => db.pool.query('SELECT event_id::text, topic, message_key, headers, payload FROM messaging.outbox ORDER BY position');
    await withTransaction(db.pool, (tx) => publisher.publishAll(tx, events));
    const byPublishAll = (await written()).rows;
    await db.pool.query('DELETE FROM messaging.outbox');

    await withTransaction(db.pool, (tx) => new SagaWriteBatch(saga).flush(tx, publisher.outboxColumns(events)));
    expect((await written()).rows).toEqual(byPublishAll);
    expect(byPublishAll.map((r) => r.event_id)).toEqual(events.map((e) => e.metadata?.id));
  });
});
