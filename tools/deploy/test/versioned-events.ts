import { IsString, IsUUID, Length } from 'class-validator';
import { defineEvent, type EventContract } from '@platform/contracts';
import type { ServiceModel } from '../catalog/load-services';

// Test-only: an event type in two versions (not in EVENT_REGISTRY), v2 upcast from v1, and the
// services that publish both and read v2, for the tools that derive what a use case reads.

const memberId = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';

export class MemberJoinedV1 {
  static readonly contract: EventContract<MemberJoinedV1> = defineEvent(MemberJoinedV1, {
    type: 'members.member-joined',
    version: 1,
    key: (e) => e.memberId,
    description: 'A member joined; one name field.',
    examples: { valid: { memberId, name: 'Ada Lovelace' }, invalid: { memberId, name: '' } },
  });
  @IsUUID() memberId!: string;
  @IsString() @Length(1, 200) name!: string;
}

export class MemberJoinedV2 {
  static readonly contract: EventContract<MemberJoinedV2> = defineEvent(MemberJoinedV2, {
    type: 'members.member-joined',
    version: 2,
    key: (e) => e.memberId,
    description: 'A member joined; given and family name.',
    examples: { valid: { memberId, givenName: 'Ada', familyName: 'Lovelace' }, invalid: { memberId, givenName: '', familyName: '' } },
    upcastFrom: { event: MemberJoinedV1, upcast: (v1) => ({ memberId: v1.memberId, givenName: v1.name.split(' ')[0], familyName: v1.name.split(' ').slice(1).join(' ') }) },
  });
  @IsUUID() memberId!: string;
  @IsString() @Length(1, 200) givenName!: string;
  @IsString() @Length(1, 200) familyName!: string;
}

/** A command in two versions: greetings handles v2 (and so v1, upcast); members sends both. */
export class SendGreetingV1 {
  static readonly contract: EventContract<SendGreetingV1> = defineEvent(SendGreetingV1, {
    type: 'greetings.send-greeting',
    version: 1,
    kind: 'command',
    key: (e) => e.memberId,
    description: 'Greet a member.',
    examples: { valid: { memberId }, invalid: { memberId: 'x' } },
  });
  @IsUUID() memberId!: string;
}

export class SendGreetingV2 {
  static readonly contract: EventContract<SendGreetingV2> = defineEvent(SendGreetingV2, {
    type: 'greetings.send-greeting',
    version: 2,
    kind: 'command',
    key: (e) => e.memberId,
    description: 'Greet a member, in a language.',
    examples: { valid: { memberId, language: 'en' }, invalid: { memberId, language: '' } },
    upcastFrom: { event: SendGreetingV1, upcast: (v1) => ({ ...v1, language: 'en' }) },
  });
  @IsUUID() memberId!: string;
  @IsString() @Length(2, 2) language!: string;
}

export const VERSIONED_REGISTRY = [MemberJoinedV1, MemberJoinedV2];
export const VERSIONED_COMMANDS = [SendGreetingV1, SendGreetingV2];

/** members publishes both versions during the migration; greetings has moved to v2. */
export const VERSIONED_SERVICES: ServiceModel[] = [
  { name: 'members', port: 1, publishes: [MemberJoinedV1, MemberJoinedV2], useCases: [] },
  { name: 'greetings', port: 2, publishes: [], useCases: [{ name: 'welcome', kind: 'events', events: [MemberJoinedV2] }] },
];
