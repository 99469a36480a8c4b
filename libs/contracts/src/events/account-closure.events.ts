import { ArrayMaxSize, IsArray, IsEmail, IsString, IsUUID, Length } from 'class-validator';
import { defineEvent, EventContract } from '../contract';

/**
 * The account closure, a saga run by users across endpoints and notifications: its starting
 * event, the commands it sends (each owned by the domain that handles it) and their answers.
 * Every message carries the closure id, the saga instance it belongs to, and is keyed by the
 * user so that one user's messages keep their order on each topic.
 */
const closureId = '0b7f7a39-3f0e-4f5a-9a53-7c1d2e3f4a5b';
const userId = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';
const apiId = '9f1c2a6e-3b7d-4c1e-8f20-5a6b7c8d9e01';
/** More than any one owner has; keeps an answer within Kafka's message size. */
const MAX_APIS = 10_000;

export class AccountClosureRequested {
  static readonly contract: EventContract<AccountClosureRequested> = defineEvent(AccountClosureRequested, {
    type: 'users.account-closure-requested',
    version: 1,
    key: (e) => e.userId,
    description: 'A user asked to close their account; the user is deactivated in the same transaction. Starts the account-closure saga.',
    examples: {
      valid: { closureId, userId, email: 'ada@example.com', displayName: 'Ada Lovelace' },
      invalid: { closureId: 'x', userId, email: 'ada@example.com', displayName: 'Ada Lovelace' },
    },
  });

  @IsUUID() closureId!: string;
  @IsUUID() userId!: string;
  @IsEmail() email!: string;
  @IsString() @Length(1, 200) displayName!: string;
}

export class ReopenAccount {
  static readonly contract: EventContract<ReopenAccount> = defineEvent(ReopenAccount, {
    type: 'users.reopen-account',
    version: 1,
    kind: 'command',
    key: (e) => e.userId,
    description: 'Command (compensation): reactivate the user a closure deactivated. Idempotent; answered by AccountReopened.',
    examples: { valid: { closureId, userId }, invalid: { closureId, userId: 'someone' } },
  });

  @IsUUID() closureId!: string;
  @IsUUID() userId!: string;
}

export class AccountReopened {
  static readonly contract: EventContract<AccountReopened> = defineEvent(AccountReopened, {
    type: 'users.account-reopened',
    version: 1,
    key: (e) => e.userId,
    description: 'Answer to ReopenAccount: the user deactivated by this closure is active again (sent for every ReopenAccount).',
    examples: { valid: { closureId, userId }, invalid: { closureId: 42, userId } },
  });

  @IsUUID() closureId!: string;
  @IsUUID() userId!: string;
}

export class UserReactivated {
  static readonly contract: EventContract<UserReactivated> = defineEvent(UserReactivated, {
    type: 'users.user-reactivated',
    version: 1,
    key: (e) => e.userId,
    description: 'A deactivated user is active again (a failed account closure was compensated).',
    examples: { valid: { userId }, invalid: { userId: 'nobody' } },
  });

  @IsUUID() userId!: string;
}

export class RetireApis {
  static readonly contract: EventContract<RetireApis> = defineEvent(RetireApis, {
    type: 'endpoints.retire-apis',
    version: 1,
    kind: 'command',
    key: (e) => e.ownerId,
    description: 'Command: retire every API the owner has, for this closure, or none. Idempotent; answered by ApisRetired or ApiRetirementRefused.',
    examples: { valid: { closureId, ownerId: userId }, invalid: { closureId, ownerId: '' } },
  });

  @IsUUID() closureId!: string;
  @IsUUID() ownerId!: string;
}

export class ApisRetired {
  static readonly contract: EventContract<ApisRetired> = defineEvent(ApisRetired, {
    type: 'endpoints.apis-retired',
    version: 1,
    key: (e) => e.ownerId,
    description: "Answer to RetireApis: the owner's APIs retired for this closure (possibly none).",
    examples: { valid: { closureId, ownerId: userId, apiIds: [apiId] }, invalid: { closureId, ownerId: userId, apiIds: ['x'] } },
  });

  @IsUUID() closureId!: string;
  @IsUUID() ownerId!: string;
  @IsArray() @ArrayMaxSize(MAX_APIS) @IsUUID('all', { each: true }) apiIds!: string[];
}

export class ApiRetirementRefused {
  static readonly contract: EventContract<ApiRetirementRefused> = defineEvent(ApiRetirementRefused, {
    type: 'endpoints.api-retirement-refused',
    version: 1,
    key: (e) => e.ownerId,
    description: 'Answer to RetireApis: nothing was retired, and why (e.g. an API under a retention hold, listed in apiIds).',
    examples: {
      valid: { closureId, ownerId: userId, reason: 'API Orders is under a retention hold: audit 2026', apiIds: [apiId] },
      invalid: { closureId, ownerId: userId, reason: '', apiIds: [] },
    },
  });

  @IsUUID() closureId!: string;
  @IsUUID() ownerId!: string;
  @IsString() @Length(1, 1000) reason!: string;
  @IsArray() @ArrayMaxSize(MAX_APIS) @IsUUID('all', { each: true }) apiIds!: string[];
}

export class RestoreApis {
  static readonly contract: EventContract<RestoreApis> = defineEvent(RestoreApis, {
    type: 'endpoints.restore-apis',
    version: 1,
    kind: 'command',
    key: (e) => e.ownerId,
    description: 'Command (compensation): restore the APIs retired for this closure; afterwards a RetireApis of the closure retires nothing. Idempotent; answered by ApisRestored.',
    examples: { valid: { closureId, ownerId: userId }, invalid: { closureId: null, ownerId: userId } },
  });

  @IsUUID() closureId!: string;
  @IsUUID() ownerId!: string;
}

export class ApisRestored {
  static readonly contract: EventContract<ApisRestored> = defineEvent(ApisRestored, {
    type: 'endpoints.apis-restored',
    version: 1,
    key: (e) => e.ownerId,
    description: 'Answer to RestoreApis: the APIs this closure had retired are active again (none when it had retired none).',
    examples: { valid: { closureId, ownerId: userId, apiIds: [apiId] }, invalid: { closureId, ownerId: userId } },
  });

  @IsUUID() closureId!: string;
  @IsUUID() ownerId!: string;
  @IsArray() @ArrayMaxSize(MAX_APIS) @IsUUID('all', { each: true }) apiIds!: string[];
}

export class SendGoodbye {
  static readonly contract: EventContract<SendGoodbye> = defineEvent(SendGoodbye, {
    type: 'notifications.send-goodbye',
    version: 1,
    kind: 'command',
    key: (e) => e.userId,
    description: 'Command: tell the user their account is closed.',
    examples: { valid: { closureId, userId, email: 'ada@example.com', displayName: 'Ada Lovelace' }, invalid: { closureId, userId, email: 'nope', displayName: 'Ada' } },
  });

  @IsUUID() closureId!: string;
  @IsUUID() userId!: string;
  @IsEmail() email!: string;
  @IsString() @Length(1, 200) displayName!: string;
}

export class SendClosureFailed {
  static readonly contract: EventContract<SendClosureFailed> = defineEvent(SendClosureFailed, {
    type: 'notifications.send-closure-failed',
    version: 1,
    kind: 'command',
    key: (e) => e.userId,
    description: 'Command: tell the user their account closure failed, why, and that the account is active again.',
    examples: {
      valid: { closureId, userId, email: 'ada@example.com', displayName: 'Ada Lovelace', reason: 'retire-apis refused: API Orders is under a retention hold' },
      invalid: { closureId, userId, email: 'ada@example.com', displayName: 'Ada Lovelace' },
    },
  });

  @IsUUID() closureId!: string;
  @IsUUID() userId!: string;
  @IsEmail() email!: string;
  @IsString() @Length(1, 200) displayName!: string;
  @IsString() @Length(1, 1000) reason!: string;
}
