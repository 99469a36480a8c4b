import { IsIn, IsString, IsUUID, Length } from 'class-validator';
import { defineEvent, EVENT_REGISTRY, ReadableEvents, UpcastChainError, UpcastError, type EventClass, type EventContract } from './index';

const TYPE = 'fixtures.member-joined';
const memberId = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';

class MemberJoinedV1 {
  static readonly contract: EventContract<MemberJoinedV1> = defineEvent(MemberJoinedV1, {
    type: TYPE,
    version: 1,
    key: (e) => e.memberId,
    description: 'v1: one name field.',
    examples: { valid: { memberId, name: 'Ada Lovelace' }, invalid: { memberId, name: '' } },
  });
  @IsUUID() memberId!: string;
  @IsString() @Length(1, 200) name!: string;
}

/** v2 splits the name; an upcaster from v1 splits at the last space. */
class MemberJoinedV2 {
  static readonly contract: EventContract<MemberJoinedV2> = defineEvent(MemberJoinedV2, {
    type: TYPE,
    version: 2,
    key: (e) => e.memberId,
    description: 'v2: given and family name.',
    examples: { valid: { memberId, givenName: 'Ada', familyName: 'Lovelace' }, invalid: { memberId, givenName: '' } },
    upcastFrom: {
      event: MemberJoinedV1,
      upcast: (v1) => {
        const cut = v1.name.lastIndexOf(' ');
        return { memberId: v1.memberId, givenName: cut > 0 ? v1.name.slice(0, cut) : v1.name, familyName: cut > 0 ? v1.name.slice(cut + 1) : '' };
      },
    },
  });
  @IsUUID() memberId!: string;
  @IsString() @Length(1, 200) givenName!: string;
  @IsString() @Length(0, 200) familyName!: string;
}

/** v3 adds a required locale; events from before it were English. */
class MemberJoinedV3 {
  static readonly contract: EventContract<MemberJoinedV3> = defineEvent(MemberJoinedV3, {
    type: TYPE,
    version: 3,
    key: (e) => e.memberId,
    description: 'v3: and a locale.',
    examples: { valid: { memberId, givenName: 'Ada', familyName: 'Lovelace', locale: 'en' }, invalid: { memberId, givenName: 'Ada', familyName: 'Lovelace' } },
    upcastFrom: { event: MemberJoinedV2, upcast: (v2) => ({ ...v2, locale: 'en' as const }) },
  });
  @IsUUID() memberId!: string;
  @IsString() @Length(1, 200) givenName!: string;
  @IsString() @Length(0, 200) familyName!: string;
  @IsIn(['en', 'de', 'fr']) locale!: 'en' | 'de' | 'fr';
}

const VERSIONS = [MemberJoinedV1, MemberJoinedV2, MemberJoinedV3];

describe('upcasting between versions of one event type', () => {
  it('upcasts v1 through v2 to v3, and v2 to v3, each a validated instance of v3', () => {
    const readable = new ReadableEvents([MemberJoinedV3], VERSIONS);
    const fromV1 = readable.upcast(MemberJoinedV1, { memberId, name: 'Ada King Lovelace' });
    expect(fromV1.event).toBe(MemberJoinedV3);
    expect(fromV1.payload).toBeInstanceOf(MemberJoinedV3);
    expect(fromV1.payload).toEqual({ memberId, givenName: 'Ada King', familyName: 'Lovelace', locale: 'en' });
    expect(readable.upcast(MemberJoinedV2, { memberId, givenName: 'Grace', familyName: 'Hopper' }).payload).toEqual({ memberId, givenName: 'Grace', familyName: 'Hopper', locale: 'en' });
    const own = { memberId, givenName: 'Hedy', familyName: 'Lamarr', locale: 'de' };
    expect(readable.upcast(MemberJoinedV3, own)).toEqual({ event: MemberJoinedV3, payload: own });
  });

  it('reads the declared version and every older one, found by topic and CloudEvents type', () => {
    const readable = new ReadableEvents([MemberJoinedV2], VERSIONS);
    expect(readable.all).toEqual([MemberJoinedV2, MemberJoinedV1]);
    expect(readable.forTopic(MemberJoinedV1.contract.topic)).toBe(MemberJoinedV1);
    expect(readable.forCeType(MemberJoinedV2.contract.ceType)).toBe(MemberJoinedV2);
    expect(readable.forTopic(MemberJoinedV3.contract.topic)).toBeUndefined();
    expect(readable.targetOf(MemberJoinedV1)).toBe(MemberJoinedV2);
    expect(readable.targetOf(MemberJoinedV3)).toBeUndefined();
    expect(() => readable.upcast(MemberJoinedV3, MemberJoinedV3.contract.examples.valid)).toThrow(/not read here/);
  });

  it('leaves a version without upcasters alone', () => {
    const readable = new ReadableEvents([MemberJoinedV1], VERSIONS);
    expect(readable.all).toEqual([MemberJoinedV1]);
  });

  describe('refuses a chain with a missing step when the reader starts', () => {
    class V2WithoutUpcaster {
      static readonly contract: EventContract<V2WithoutUpcaster> = defineEvent(V2WithoutUpcaster, {
        ...MemberJoinedV2.contract,
        upcastFrom: undefined,
      });
      @IsUUID() memberId!: string;
    }
    class V3FromIt {
      static readonly contract: EventContract<V3FromIt> = defineEvent(V3FromIt, {
        ...MemberJoinedV3.contract,
        upcastFrom: { event: V2WithoutUpcaster, upcast: (v2) => ({ ...v2 }) },
      });
      @IsUUID() memberId!: string;
    }

    it('a registered older version the chain does not reach, naming the version that lacks upcastFrom', () => {
      expect(() => new ReadableEvents([V3FromIt], [MemberJoinedV1, V2WithoutUpcaster, V3FromIt])).toThrow(UpcastChainError);
      expect(() => new ReadableEvents([V3FromIt], [MemberJoinedV1, V2WithoutUpcaster, V3FromIt])).toThrow(
        `${TYPE} v1 is registered but cannot be upcast to v3: v2 (V2WithoutUpcaster) declares no upcastFrom`,
      );
      expect(() => new ReadableEvents([V2WithoutUpcaster], [MemberJoinedV1, V2WithoutUpcaster])).toThrow(/v1 is registered but cannot be upcast to v2: v2 \(V2WithoutUpcaster\) declares no upcastFrom/);
    });

    it('a chain through a class that is not the registered version', () => {
      expect(() => new ReadableEvents([MemberJoinedV3], [MemberJoinedV1, V2WithoutUpcaster, MemberJoinedV3])).toThrow(/upcasts from a v2 class that is not the registered one \(V2WithoutUpcaster\)/);
    });

    it('a retired version (no longer registered) is no gap', () => {
      expect(new ReadableEvents([V3FromIt], [V2WithoutUpcaster, V3FromIt]).all).toEqual([V3FromIt, V2WithoutUpcaster]);
    });
  });

  it('refuses a reader that declares two versions of one type', () => {
    expect(() => new ReadableEvents([MemberJoinedV1, MemberJoinedV3], VERSIONS)).toThrow(/fixtures.member-joined is declared twice, v1 and v3: declare the one version/);
  });

  it('refuses an upcast step that skips a version or names another type', () => {
    class Other {}
    const spec = { type: TYPE, key: () => memberId, description: 'x', examples: { valid: {}, invalid: {} } };
    expect(() => defineEvent(Other, { ...spec, version: 3, upcastFrom: { event: MemberJoinedV1, upcast: () => ({}) } })).toThrow(/v3 upcasts from v1: a step goes from the previous version, v2/);
    expect(() => defineEvent(Other, { ...spec, type: 'fixtures.other', version: 2, upcastFrom: { event: MemberJoinedV1, upcast: () => ({}) } })).toThrow(/upcastFrom names fixtures.member-joined v1/);
    expect(() => defineEvent(Other, { ...spec, version: 2, upcastFrom: { event: undefined as unknown as EventClass, upcast: () => ({}) } })).toThrow(/defined before this one/);
  });

  describe('an upcaster that fails is an UpcastError, never retried', () => {
    // Same shape as v2 (the rules are inherited), other upcasters.
    class ThrowingV2 extends MemberJoinedV2 {
      static override readonly contract: EventContract<ThrowingV2> = defineEvent(ThrowingV2, {
        ...MemberJoinedV2.contract,
        upcastFrom: {
          event: MemberJoinedV1,
          upcast: () => {
            throw new Error('no idea how');
          },
        },
      });
    }
    class InvalidV2 extends MemberJoinedV2 {
      static override readonly contract: EventContract<InvalidV2> = defineEvent(InvalidV2, {
        ...MemberJoinedV2.contract,
        upcastFrom: { event: MemberJoinedV1, upcast: (v1) => ({ memberId: v1.memberId, givenName: '', familyName: '' }) },
      });
    }
    const throwing: EventClass = ThrowingV2;
    const invalid: EventClass = InvalidV2;

    it('when it throws, with the cause', () => {
      const readable = new ReadableEvents([throwing], [MemberJoinedV1]);
      let error: unknown;
      try {
        readable.upcast(MemberJoinedV1, { memberId, name: 'Ada' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UpcastError);
      expect(error).toMatchObject({ eventType: TYPE, fromVersion: 1, toVersion: 2, retriable: false, message: `Cannot upcast ${TYPE} v1 to v2: the upcaster threw: no idea how` });
      expect((error as Error).cause).toEqual(new Error('no idea how'));
    });

    it('when its result is not valid for its version, naming the field', () => {
      const readable = new ReadableEvents([invalid], [MemberJoinedV1]);
      expect(() => readable.upcast(MemberJoinedV1, { memberId, name: 'Ada' })).toThrow(/Cannot upcast fixtures.member-joined v1 to v2: the upcaster's result is not a valid v2: givenName/);
    });
  });

  it('every registered version reaches the newest registered version of its type', () => {
    const newest = new Map<string, EventClass>();
    for (const event of EVENT_REGISTRY) {
      const seen = newest.get(event.contract.type);
      if (!seen || seen.contract.version < event.contract.version) newest.set(event.contract.type, event);
    }
    const readable = new ReadableEvents([...newest.values()]);
    expect(new Set(readable.all)).toEqual(new Set(EVENT_REGISTRY));
  });
});
