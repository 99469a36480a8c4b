import { TEMPLATE_NAME_PATTERN, type TemplateChannel, type TemplateUpdated } from '@platform/contracts';
import { BusinessRuleViolation } from '@platform/service-kit';

/** The templates domain: versioned notification templates with `{{variable}}` placeholders. */
export interface Template {
  readonly id: string;
  readonly name: string;
  readonly channel: TemplateChannel;
  readonly subject: string;
  readonly body: string;
  readonly revision: number;
}

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
const VARIABLE = /^[a-zA-Z][a-zA-Z0-9]*$/;

/** Placeholders must be `{{identifier}}`; a stray `{{` or `}}` is refused rather than sent to users. */
export function checkPlaceholders(text: string, field: string): void {
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (!VARIABLE.test(match[1])) throw new BusinessRuleViolation('bad-placeholder', `${field}: "{{${match[1]}}}" is not a valid placeholder`);
  }
  const stripped = text.replace(PLACEHOLDER, '');
  if (stripped.includes('{{') || stripped.includes('}}')) throw new BusinessRuleViolation('bad-placeholder', `${field} has an unbalanced "{{" or "}}"`);
}

export function createTemplate(id: string, input: Omit<Template, 'id' | 'revision'>): { template: Template; event: TemplateUpdated } {
  if (!TEMPLATE_NAME_PATTERN.test(input.name)) throw new BusinessRuleViolation('bad-name', `template name "${input.name}" must be kebab-case`);
  checkPlaceholders(input.subject, 'subject');
  checkPlaceholders(input.body, 'body');
  const template = { ...input, id, revision: 1 };
  return { template, event: toEvent(template) };
}

/** Every accepted change is a new revision; a change that changes nothing is no revision. */
export function reviseTemplate(current: Template, change: Partial<Pick<Template, 'channel' | 'subject' | 'body'>>): { template: Template; event: TemplateUpdated | null } {
  const next = { ...current, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) } as Template;
  checkPlaceholders(next.subject, 'subject');
  checkPlaceholders(next.body, 'body');
  if (next.channel === current.channel && next.subject === current.subject && next.body === current.body) return { template: current, event: null };
  const template = { ...next, revision: current.revision + 1 };
  return { template, event: toEvent(template) };
}

function toEvent(t: Template): TemplateUpdated {
  return { templateId: t.id, name: t.name, revision: t.revision, channel: t.channel, subject: t.subject, body: t.body };
}
