import { withTransaction } from '@platform/core';
import { UserCreated } from '@platform/contracts';
import { applySqlMigrations, createTestDatabase, type TestDatabase } from '@platform/testing';
import { MemberJoinedV1, MemberJoinedV2 } from './fixtures/member-joined.events';
import { MESSAGING_MIGRATIONS, OutboxPublisher } from '../src';

jest.setTimeout(30_000);

const memberId = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';
const v1 = { event: MemberJoinedV1, payload: { memberId, name: 'Ada Lovelace' } };
const v2 = { event: MemberJoinedV2, payload: { memberId, givenName: 'Ada', familyName: 'Lovelace' } };

describe('publishing one event in two versions side by side (real PostgreSQL)', () => {
  const publisher = new OutboxPublisher('members', [MemberJoinedV1, MemberJoinedV2, UserCreated]);
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('publish_versions');
    await applySqlMigrations(db.pool, MESSAGING_MIGRATIONS);
  });

  afterAll(() => db?.drop());

  const outbox = async () =>
    (await db.pool.query<{ event_id: string; topic: string; headers: Record<string, string> }>('SELECT event_id::text, topic, headers FROM messaging.outbox ORDER BY position')).rows;

  it('writes one outbox row per version, on its topic, under one event id, time and correlation', async () => {
    const [first, second] = await withTransaction(db.pool, (tx) => publisher.publishVersions(tx, [v1, v2], { correlationId: 'req-1' }));
    expect(second.id).toBe(first.id);
    expect(second.time).toBe(first.time);
    expect([first.correlationId, second.correlationId]).toEqual(['req-1', 'req-1']);
    const rows = await outbox();
    expect(rows.map((r) => [r.event_id, r.topic])).toEqual([
      [first.id, MemberJoinedV1.contract.topic],
      [first.id, MemberJoinedV2.contract.topic],
    ]);
    expect(rows.map((r) => [r.headers.ce_id, r.headers.ce_type, r.headers.ce_time])).toEqual([
      [first.id, MemberJoinedV1.contract.ceType, first.time],
      [first.id, MemberJoinedV2.contract.ceType, first.time],
    ]);
  });

  it('refuses anything but distinct versions of one type, before anything is written', async () => {
    await db.pool.query('DELETE FROM messaging.outbox');
    const publishing = (versions: Parameters<OutboxPublisher['publishVersions']>[1]) => withTransaction(db.pool, (tx) => publisher.publishVersions(tx, versions));
    await expect(publishing([v1, { event: UserCreated, payload: UserCreated.contract.examples.valid }])).rejects.toThrow(/distinct versions of one event type/);
    await expect(publishing([v1, v1])).rejects.toThrow(/distinct versions of one event type/);
    await expect(publishing([])).rejects.toThrow(/got none/);
    expect(await outbox()).toEqual([]);
  });
});
