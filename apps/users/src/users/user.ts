import { BusinessRuleViolation } from '@platform/service-kit';
import type { DeactivationReason, UserDeactivated, UserReactivated, UserRenamed } from '@platform/contracts';

/** The users domain: pure decisions, no database and no Kafka. */
export type UserStatus = 'active' | 'deactivated';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly status: UserStatus;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function assertActive(user: User, action: string): void {
  if (user.status !== 'active') throw new BusinessRuleViolation('user-deactivated', `user ${user.id} is deactivated and cannot be ${action}`);
}

/** Renaming to the current name changes nothing and emits nothing. */
export function rename(user: User, displayName: string): { user: User; event: UserRenamed | null } {
  assertActive(user, 'renamed');
  const name = displayName.trim();
  if (name === user.displayName) return { user, event: null };
  return { user: { ...user, displayName: name }, event: { userId: user.id, displayName: name, previousDisplayName: user.displayName } };
}

/** Undoes a deactivation (a failed account closure); an active user stays as it is. */
export function reactivate(user: User): { user: User; event: UserReactivated | null } {
  if (user.status === 'active') return { user, event: null };
  return { user: { ...user, status: 'active' }, event: { userId: user.id } };
}

export function deactivate(user: User, reason: DeactivationReason, note?: string): { user: User; event: UserDeactivated } {
  assertActive(user, 'deactivated again');
  return { user: { ...user, status: 'deactivated' }, event: { userId: user.id, reason, ...(note ? { note } : {}) } };
}
