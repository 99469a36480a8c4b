import { Injectable } from '@nestjs/common';
import { SendClosureFailed, SendGoodbye } from '@platform/contracts';
import { isEvent, type EnvelopeOf, type HandlerContext, type UseCase } from '@platform/messaging';
import { randomUUID } from 'node:crypto';
import { recordNotification } from '../notifications/record-notification';

const EVENTS = [SendGoodbye, SendClosureFailed] as const;
export const GOODBYE = 'goodbye';
export const CLOSURE_FAILED = 'closure-failed';

/**
 * closure-notices: the account-closure saga's last word to the user: a goodbye when the
 * account is closed, or why the closure failed (the account being active again). The inbox
 * makes each command one notification.
 */
@Injectable()
export class ClosureNoticesUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'closure-notices';
  readonly events = EVENTS;

  async handle(command: EnvelopeOf<typeof EVENTS>, context: HandlerContext): Promise<void> {
    const { userId, displayName } = command.payload;
    const failed = isEvent(command, SendClosureFailed) ? command.payload : undefined;
    const notification = {
      notificationId: randomUUID(),
      userId,
      kind: failed ? CLOSURE_FAILED : GOODBYE,
      channel: 'email' as const,
      subject: failed ? `${displayName}, your account could not be closed` : `Goodbye, ${displayName}`,
    };
    const body = failed
      ? `Hello ${displayName}, closing your account failed: ${failed.reason}. Your account is active again; nothing was removed.`
      : `Hello ${displayName}, your account ${command.payload.email} is closed and your APIs are retired. Goodbye.`;
    await recordNotification(context, notification, body, command.id);
  }
}
