import { IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Min } from 'class-validator';
import { defineEvent, EventContract } from '../contract';
import { TEMPLATE_CHANNELS, TemplateChannel } from './templates.events';

export class NotificationSent {
  static readonly contract: EventContract<NotificationSent> = defineEvent(NotificationSent, {
    type: 'notifications.notification-sent',
    version: 1,
    key: (e) => e.userId,
    description: 'A notification was rendered and delivered to a user.',
    examples: {
      valid: {
        notificationId: 'a3bb189e-8bf9-4888-9912-ace4e6543002',
        userId: '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10',
        kind: 'welcome',
        channel: 'email',
        subject: 'Welcome, Ada',
        templateId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
        templateRevision: 2,
      },
      invalid: { notificationId: 'a3bb189e-8bf9-4888-9912-ace4e6543002', userId: 'someone', kind: 'welcome', channel: 'email', subject: 'Hi' },
    },
  });

  @IsUUID() notificationId!: string;
  @IsUUID() userId!: string;
  @IsString() @Length(1, 64) kind!: string;
  @IsIn(TEMPLATE_CHANNELS) channel!: TemplateChannel;
  @IsString() @Length(1, 200) subject!: string;
  @IsOptional() @IsUUID() templateId?: string;
  @IsOptional() @IsInt() @Min(1) templateRevision?: number;
}
