import { Injectable } from '@nestjs/common';
import { UserCreated, type TemplateChannel } from '@platform/contracts';
import type { EnvelopeOf, HandlerContext, UseCase } from '@platform/messaging';
import { randomUUID } from 'node:crypto';
import { recordNotification } from '../notifications/record-notification';
import { render } from '../templates/render';

const EVENTS = [UserCreated] as const;
export const WELCOME_TEMPLATE = 'welcome';

/** Used until a `welcome` template has reached this service. */
export const FALLBACK_WELCOME = { channel: 'email' as TemplateChannel, subject: 'Welcome, {{displayName}}', body: 'Hello {{displayName}}, your account {{email}} is ready.' };

interface CachedTemplate {
  template_id: string;
  revision: number;
  channel: TemplateChannel;
  subject: string;
  body: string;
}

/** welcome: every new user gets one welcome notification, rendered from the latest template known here. */
@Injectable()
export class WelcomeUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'welcome';
  readonly events = EVENTS;

  async handle(event: EnvelopeOf<typeof EVENTS>, { tx, publish }: HandlerContext): Promise<void> {
    const user = event.payload;
    const { rows } = await tx.query<CachedTemplate>('SELECT template_id, revision, channel, subject, body FROM template_cache WHERE name = $1', [WELCOME_TEMPLATE]);
    const template = rows[0];
    const source = template ?? FALLBACK_WELCOME;
    const variables = { displayName: user.displayName, email: user.email };
    const notification = {
      notificationId: randomUUID(),
      userId: user.userId,
      kind: WELCOME_TEMPLATE,
      channel: source.channel,
      subject: render(source.subject, variables),
      ...(template ? { templateId: template.template_id, templateRevision: template.revision } : {}),
    };
    await recordNotification({ tx, publish }, notification, render(source.body, variables), event.id);
  }
}
