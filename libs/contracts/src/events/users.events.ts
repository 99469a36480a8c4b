import { IsEmail, IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { defineEvent, EventContract } from '../contract';

export class UserCreated {
  static readonly contract: EventContract<UserCreated> = defineEvent(UserCreated, {
    type: 'users.user-created',
    version: 1,
    key: (e) => e.userId,
    description: 'A user registered.',
    examples: {
      valid: { userId: '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10', email: 'ada@example.com', displayName: 'Ada Lovelace' },
      invalid: { userId: 'not-a-uuid', email: 'nope', displayName: '' },
    },
  });

  @IsUUID() userId!: string;
  @IsEmail() email!: string;
  @IsString() @Length(1, 200) displayName!: string;
}

export class UserRenamed {
  static readonly contract: EventContract<UserRenamed> = defineEvent(UserRenamed, {
    type: 'users.user-renamed',
    version: 1,
    key: (e) => e.userId,
    description: "A user's display name changed.",
    examples: {
      valid: { userId: '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10', displayName: 'Countess Lovelace', previousDisplayName: 'Ada Lovelace' },
      invalid: { userId: '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10', displayName: 42 },
    },
  });

  @IsUUID() userId!: string;
  @IsString() @Length(1, 200) displayName!: string;
  @IsString() @Length(1, 200) previousDisplayName!: string;
}

export const DEACTIVATION_REASONS = ['requested', 'abuse', 'inactive'] as const;
export type DeactivationReason = (typeof DEACTIVATION_REASONS)[number];

export class UserDeactivated {
  static readonly contract: EventContract<UserDeactivated> = defineEvent(UserDeactivated, {
    type: 'users.user-deactivated',
    version: 1,
    key: (e) => e.userId,
    description: 'A user was deactivated; other services stop acting for them.',
    examples: {
      valid: { userId: '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10', reason: 'requested' },
      invalid: { userId: '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10', reason: 'bored' },
    },
  });

  @IsUUID() userId!: string;
  @IsIn(DEACTIVATION_REASONS) reason!: DeactivationReason;
  @IsOptional() @IsString() @Length(0, 500) note?: string;
}
