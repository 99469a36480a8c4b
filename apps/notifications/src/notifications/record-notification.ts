import { NotificationSent } from '@platform/contracts';
import type { HandlerContext } from '@platform/messaging';

/**
 * Stores a notification (what this service shows at GET /users/:id/notifications) and
 * publishes NotificationSent, in the handler's transaction: one row and one event per cause.
 */
export async function recordNotification({ tx, publish }: Pick<HandlerContext, 'tx' | 'publish'>, notification: NotificationSent, body: string, causedBy: string): Promise<void> {
  await tx.query(
    `INSERT INTO notifications (id, user_id, kind, channel, subject, body, template_id, template_revision, caused_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [notification.notificationId, notification.userId, notification.kind, notification.channel, notification.subject, body, notification.templateId ?? null, notification.templateRevision ?? null, causedBy],
  );
  await publish(NotificationSent, notification);
}
