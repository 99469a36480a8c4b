import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { defineEvent, UpcastChainError, type EventContract } from '@platform/contracts';
import { silentLogger } from '@platform/core';
import { MemberJoinedV1, MemberJoinedV2 } from '../../test/fixtures/member-joined.events';
import type { Broker } from '../kafka/broker';
import { ServiceMessaging } from '../service-messaging';
import { reviveEnvelope, useCaseEvents } from './use-case-events';

const memberId = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';

/** A v3 whose chain stops at a v2 without upcastFrom, while v1 is still registered. */
class MemberJoinedV2WithoutUpcaster extends MemberJoinedV2 {
  static override readonly contract: EventContract<MemberJoinedV2WithoutUpcaster> = defineEvent(MemberJoinedV2WithoutUpcaster, { ...MemberJoinedV2.contract, upcastFrom: undefined });
}
class MemberJoinedV3 extends MemberJoinedV2 {
  static override readonly contract: EventContract<MemberJoinedV3> = defineEvent(MemberJoinedV3, {
    ...MemberJoinedV2.contract,
    version: 3,
    upcastFrom: { event: MemberJoinedV2WithoutUpcaster, upcast: (v2) => ({ ...v2 }) },
  });
}

describe("a use case's event versions", () => {
  it('a missing upcast step is an error naming the use case and the version without upcastFrom', () => {
    expect(() => useCaseEvents({ name: 'greeter', events: [MemberJoinedV3] }, [MemberJoinedV1, MemberJoinedV2WithoutUpcaster, MemberJoinedV3])).toThrow(UpcastChainError);
    expect(() => useCaseEvents({ name: 'greeter', events: [MemberJoinedV3] }, [MemberJoinedV1, MemberJoinedV2WithoutUpcaster, MemberJoinedV3])).toThrow(
      'use case greeter: fixtures.member-joined v1 is registered but cannot be upcast to v3: v2 (MemberJoinedV2WithoutUpcaster) declares no upcastFrom',
    );
  });

  it('a service does not start with a use case that declares two versions of one type', () => {
    const useCase = { name: 'greeter', events: [MemberJoinedV1, MemberJoinedV2], handle: async () => undefined };
    const start = () => new ServiceMessaging({ service: 'members', broker: {} as Broker, pool: {} as Pool, publishes: [], useCases: [useCase], logger: silentLogger });
    expect(start).toThrow('use case greeter: fixtures.member-joined is declared twice, v1 and v2');
  });

  describe('an envelope stored after it was read (a staged window event), typed again', () => {
    const events = useCaseEvents({ name: 'roster', events: [MemberJoinedV2] });
    const where = { id: randomUUID(), source: '/t', time: new Date().toISOString(), correlationId: 'c', causationId: null, key: memberId, topic: 't', partition: 0, offset: '1' };

    it('of the declared version: an instance, not validated again', () => {
      const revived = reviveEnvelope(events, { ...where, type: MemberJoinedV2.contract.ceType, payload: { memberId, givenName: 'Ada', familyName: 'Lovelace' } }, 'a window');
      expect(revived.event).toBe(MemberJoinedV2);
      expect(revived.payload).toBeInstanceOf(MemberJoinedV2);
      expect(revived.upcastFrom).toBeUndefined();
    });

    it('of an older version (staged before a deploy moved the use case on): validated and upcast', () => {
      const revived = reviveEnvelope(events, { ...where, type: MemberJoinedV1.contract.ceType, payload: { memberId, name: 'Ada Lovelace' } }, 'a window');
      expect(revived).toMatchObject({ event: MemberJoinedV2, type: MemberJoinedV2.contract.ceType, payload: { memberId, givenName: 'Ada', familyName: 'Lovelace' }, upcastFrom: { type: MemberJoinedV1.contract.ceType, version: 1 } });
      expect(revived.payload).toBeInstanceOf(MemberJoinedV2);
      expect(() => reviveEnvelope(events, { ...where, type: MemberJoinedV1.contract.ceType, payload: { memberId } }, 'a window')).toThrow(/Invalid fixtures.member-joined payload: name/);
    });

    it('of a type it does not read: refused', () => {
      expect(() => reviveEnvelope(events, { ...where, type: 'platform.fixtures.other.v1', payload: {} }, 'a window of roster')).toThrow(
        'a window of roster holds an event of type platform.fixtures.other.v1 that it does not read',
      );
    });
  });
});
