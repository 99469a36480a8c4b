import { checkPlaceholders, createTemplate, reviseTemplate } from './template';

const input = { name: 'welcome', channel: 'email' as const, subject: 'Hi {{displayName}}', body: 'Welcome {{ displayName }}, {{email}} is ready.' };

describe('template domain', () => {
  it('creates revision 1 and announces it', () => {
    const { template, event } = createTemplate('7c9e6679-7425-40de-944b-e07fc1f90ae7', input);
    expect(template.revision).toBe(1);
    expect(event).toEqual({ templateId: template.id, name: 'welcome', revision: 1, channel: 'email', subject: input.subject, body: input.body });
  });

  it('bumps the revision on a real change only', () => {
    const { template } = createTemplate('7c9e6679-7425-40de-944b-e07fc1f90ae7', input);
    expect(reviseTemplate(template, { subject: input.subject })).toEqual({ template, event: null });
    const revised = reviseTemplate(template, { body: 'New body' });
    expect(revised.template.revision).toBe(2);
    expect(revised.event).toMatchObject({ revision: 2, body: 'New body', subject: input.subject });
  });

  it('refuses malformed placeholders and names', () => {
    expect(() => checkPlaceholders('Hello {{ first name }}', 'body')).toThrow(/not a valid placeholder/);
    expect(() => checkPlaceholders('Hello {{name', 'body')).toThrow(/unbalanced/);
    expect(() => createTemplate('7c9e6679-7425-40de-944b-e07fc1f90ae7', { ...input, name: 'Welcome!' })).toThrow(/kebab-case/);
  });
});
