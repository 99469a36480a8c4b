import { MemberJoinedV1, MemberJoinedV2 } from '../../test/fixtures/member-joined.events';
import { reviveKeptMessage, type StoredMessage } from './saga-step';

const memberId = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';

function kept(type: string, payload: StoredMessage['payload']): StoredMessage {
  return {
    id: '0d4f7e62-5a0e-4d8f-9a51-1c3b2a6f7e10',
    type,
    source: '/services/fixtures',
    time: '2026-12-01T06:00:00.000Z',
    correlationId: 'c-1',
    causationId: null,
    key: memberId,
    topic: 'fixtures.member-joined.v1',
    partition: 0,
    offset: '7',
    payload,
  };
}

describe('reviveKeptMessage: a message a saga instance kept early, typed again when its turn comes', () => {
  const saga = { name: 'membership', events: [MemberJoinedV2] as const };

  it('a kept message of the declared version comes back as that version, unchanged', () => {
    const revived = reviveKeptMessage(saga, kept(MemberJoinedV2.contract.ceType, { memberId, givenName: 'Ada', familyName: 'Lovelace' }));
    expect(revived.event).toBe(MemberJoinedV2);
    expect(revived.payload).toBeInstanceOf(MemberJoinedV2);
    expect(revived.upcastFrom).toBeUndefined();
  });

  it('one kept as v1 (by an instance of a deploy that declared v1) reaches the saga that now declares v2 upcast', () => {
    const revived = reviveKeptMessage(saga, kept(MemberJoinedV1.contract.ceType, { memberId, name: 'Ada Lovelace' }));
    expect(revived.event).toBe(MemberJoinedV2);
    expect(revived.type).toBe(MemberJoinedV2.contract.ceType);
    expect(revived.payload).toBeInstanceOf(MemberJoinedV2);
    expect(revived.payload).toEqual({ memberId, givenName: 'Ada', familyName: 'Lovelace' });
    expect(revived.upcastFrom).toEqual({ type: MemberJoinedV1.contract.ceType, version: 1 });
  });

  it('a kept type the saga no longer reads at all is an error naming the saga', () => {
    expect(() => reviveKeptMessage(saga, kept('com.example.other.v1', {}))).toThrow(/saga membership holds an event of type com\.example\.other\.v1/);
  });
});
