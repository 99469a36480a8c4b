import type { SqlClient } from '@platform/core';
import { UserCreated } from '@platform/contracts';
import { MemberJoinedV1, MemberJoinedV2 } from '../../test/fixtures/member-joined.events';
import { OutboxPublisher } from './publisher';

const memberId = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';
const v1 = { event: MemberJoinedV1, payload: { memberId, name: 'Ada Lovelace' } };
const v2 = { event: MemberJoinedV2, payload: { memberId, givenName: 'Ada', familyName: 'Lovelace' } };

/** Keeps the outbox INSERT's parameters: five per row (event_id, topic, message_key, headers, payload). */
function recordingTx(): SqlClient & { rows: unknown[][] } {
  const rows: unknown[][] = [];
  return {
    rows,
    query: async (_text: string, values?: readonly unknown[]) => {
      for (let i = 0; i < (values ?? []).length; i += 5) rows.push(values!.slice(i, i + 5) as unknown[]);
      return { rows: [], rowCount: 0 };
    },
  } as unknown as SqlClient & { rows: unknown[][] };
}

describe('publishing one event in two versions side by side', () => {
  const publisher = new OutboxPublisher('members', [MemberJoinedV1, MemberJoinedV2, UserCreated]);

  it('writes one outbox row per version, on its topic, under one event id, time and correlation', async () => {
    const tx = recordingTx();
    const [first, second] = await publisher.publishVersions(tx, [v1, v2], { correlationId: 'req-1' });
    expect(second.id).toBe(first.id);
    expect(second.time).toBe(first.time);
    expect([first.correlationId, second.correlationId]).toEqual(['req-1', 'req-1']);
    expect(tx.rows.map(([id, topic]) => [id, topic])).toEqual([
      [first.id, MemberJoinedV1.contract.topic],
      [first.id, MemberJoinedV2.contract.topic],
    ]);
    const headers = tx.rows.map((r) => JSON.parse(r[3] as string) as Record<string, string>);
    expect(headers.map((h) => [h.ce_id, h.ce_type, h.ce_time])).toEqual([
      [first.id, MemberJoinedV1.contract.ceType, first.time],
      [first.id, MemberJoinedV2.contract.ceType, first.time],
    ]);
  });

  it('refuses anything but distinct versions of one type', async () => {
    const tx = recordingTx();
    await expect(publisher.publishVersions(tx, [v1, { event: UserCreated, payload: UserCreated.contract.examples.valid }])).rejects.toThrow(/distinct versions of one event type/);
    await expect(publisher.publishVersions(tx, [v1, v1])).rejects.toThrow(/distinct versions of one event type/);
    await expect(publisher.publishVersions(tx, [])).rejects.toThrow(/got none/);
    expect(tx.rows).toEqual([]);
  });
});
