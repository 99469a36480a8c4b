import { Injectable } from '@nestjs/common';
import { AccountReopened, ReopenAccount, UserReactivated } from '@platform/contracts';
import type { EnvelopeOf, HandlerContext, UseCase } from '@platform/messaging';
import { reactivate, type User } from '../users/user';

const EVENTS = [ReopenAccount] as const;

/**
 * reopen-account: the compensation of a closure's deactivation. Reactivates the user only if
 * this closure deactivated them and has not reopened them yet, and answers every time, so
 * that a compensation sent again is acknowledged again without a second effect.
 */
@Injectable()
export class ReopenAccountUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'reopen-account';
  readonly events = EVENTS;

  async handle(command: EnvelopeOf<typeof EVENTS>, { tx, publish }: HandlerContext): Promise<void> {
    const { closureId, userId } = command.payload;
    const { rows } = await tx.query<{ status: string }>('SELECT status FROM account_closures WHERE closure_id = $1 AND user_id = $2 FOR UPDATE', [closureId, userId]);
    if (rows[0]?.status === 'closing') {
      const users = await tx.query<User & { display_name: string }>('SELECT id, email, display_name, status FROM users WHERE id = $1 FOR UPDATE', [userId]);
      const user = users.rows[0];
      const { event } = reactivate({ ...user, displayName: user.display_name });
      if (event) {
        await tx.query("UPDATE users SET status = 'active', updated_at = now() WHERE id = $1", [userId]);
        await publish(UserReactivated, event);
      }
      await tx.query("UPDATE account_closures SET status = 'reopened' WHERE closure_id = $1", [closureId]);
    }
    await publish(AccountReopened, { closureId, userId });
  }
}
