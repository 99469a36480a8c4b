import { ForbiddenException } from '@nestjs/common';
import { OPERATOR_ROLE } from './auth-settings';

/** Who sent a request, from its verified token: `sub` is the user's id. */
export interface Caller {
  readonly userId: string;
  readonly roles: readonly string[];
}

export function isOperator(caller: Caller): boolean {
  return caller.roles.includes(OPERATOR_ROLE);
}

/** Reading a user's records: that user, or an operator (who may read across users). */
export function assertMayRead(caller: Caller, ownerId: string, what: string): void {
  if (caller.userId !== ownerId && !isOperator(caller)) throw new ForbiddenException(`${what} belongs to another user`);
}

/** Changing a user's records: only that user; an operator's role reads across users, it does not act for them. */
export function assertMayChange(caller: Caller, ownerId: string, what: string): void {
  if (caller.userId !== ownerId) throw new ForbiddenException(`${what} belongs to another user`);
}
