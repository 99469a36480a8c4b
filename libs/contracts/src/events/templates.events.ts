import { IsIn, IsInt, IsString, IsUUID, Length, Matches, Min } from 'class-validator';
import { defineEvent, EventContract } from '../contract';

export const TEMPLATE_CHANNELS = ['email', 'in-app'] as const;
export type TemplateChannel = (typeof TEMPLATE_CHANNELS)[number];
/** Template names are stable handles (`welcome`, `goodbye`) that consumers look up. */
export const TEMPLATE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

export class TemplateUpdated {
  static readonly contract: EventContract<TemplateUpdated> = defineEvent(TemplateUpdated, {
    type: 'templates.template-updated',
    version: 1,
    key: (e) => e.templateId,
    description: 'A notification template was created or got a new revision. Carries the full template.',
    examples: {
      valid: {
        templateId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
        name: 'welcome',
        revision: 2,
        channel: 'email',
        subject: 'Welcome, {{displayName}}',
        body: 'Hello {{displayName}}, your account {{email}} is ready.',
      },
      invalid: { templateId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', name: 'Welcome!', revision: 0, channel: 'fax', subject: '', body: '' },
    },
  });

  @IsUUID() templateId!: string;
  @Matches(TEMPLATE_NAME_PATTERN) name!: string;
  @IsInt() @Min(1) revision!: number;
  @IsIn(TEMPLATE_CHANNELS) channel!: TemplateChannel;
  @IsString() @Length(1, 200) subject!: string;
  @IsString() @Length(1, 10_000) body!: string;
}
