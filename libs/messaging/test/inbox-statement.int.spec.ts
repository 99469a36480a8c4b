import { randomUUID } from 'node:crypto';
import { withOpenedTransaction } from '@platform/core';
import { applySqlMigrations, createTestDatabase, type TestDatabase } from '@platform/testing';
import { MESSAGING_MIGRATIONS, type ReceivedEnvelope } from '../src';
import { inboxRecordStatement } from '../src/consumer/inbox';

jest.setTimeout(60_000);

/** The inbox record that opens a consumer's transaction, its values written into the statement. */
describe('the inbox record sent with BEGIN (real PostgreSQL)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('inbox_statement');
    await applySqlMigrations(db.pool, MESSAGING_MIGRATIONS);
  });

  afterAll(async () => {
    await db?.drop();
  });

  const envelope = (topic: string, partition: number, offset: string) => ({ id: randomUUID(), topic, partition, offset }) as ReceivedEnvelope;
  const record = (group: string, envelopes: ReceivedEnvelope[]) =>
    withOpenedTransaction<string[], { event_id: string }>(db.pool, inboxRecordStatement(group, envelopes), async (_tx, recorded) => recorded.rows.map((r) => r.event_id).sort());

  it('records values with quotes and backslashes as they are, and returns only the events not seen before', async () => {
    const group = `it's a \\group\\ '; DROP TABLE messaging.inbox; --`;
    const first = envelope("o'reilly\\topic", 3, '9007199254740993');
    const second = envelope('plain', 0, '0');
    expect(await record(group, [first, second])).toEqual([first.id, second.id].sort());
    // A redelivery beside a new event: only the new one is fresh.
    const third = envelope('plain', 0, '1');
    expect(await record(group, [first, third])).toEqual([third.id]);
    const { rows } = await db.pool.query<{ consumer_group: string; topic: string; partition: number; offset: string }>(
      `SELECT consumer_group, topic, partition, "offset"::text AS offset FROM messaging.inbox WHERE event_id = $1`,
      [first.id],
    );
    expect(rows).toEqual([{ consumer_group: group, topic: "o'reilly\\topic", partition: 3, offset: '9007199254740993' }]);
  });

  it('leaves no record when the work after it fails', async () => {
    const lost = envelope('plain', 1, '7');
    await expect(
      withOpenedTransaction(db.pool, inboxRecordStatement('rollback-group', [lost]), async () => {
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    const { rowCount } = await db.pool.query('SELECT 1 FROM messaging.inbox WHERE event_id = $1', [lost.id]);
    expect(rowCount).toBe(0);
  });
});
