import { Injectable } from '@nestjs/common';
import { TemplateUpdated } from '@platform/contracts';
import type { EnvelopeOf, HandlerContext, UseCase } from '@platform/messaging';

const EVENTS = [TemplateUpdated] as const;

/**
 * template-cache: keeps this service's own copy of every template, newest revision wins, so
 * rendering never calls the templates service (or its database).
 */
@Injectable()
export class TemplateCacheUseCase implements UseCase<typeof EVENTS> {
  readonly name = 'template-cache';
  readonly events = EVENTS;

  async handle({ payload: t }: EnvelopeOf<typeof EVENTS>, { tx }: HandlerContext): Promise<void> {
    await tx.query(
      `INSERT INTO template_cache (template_id, name, channel, subject, body, revision)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (template_id) DO UPDATE
         SET name = EXCLUDED.name, channel = EXCLUDED.channel, subject = EXCLUDED.subject,
             body = EXCLUDED.body, revision = EXCLUDED.revision, updated_at = now()
       WHERE template_cache.revision < EXCLUDED.revision`,
      [t.templateId, t.name, t.channel, t.subject, t.body, t.revision],
    );
  }
}
