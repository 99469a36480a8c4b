import { defineEvent, EVENT_REGISTRY, eventForCeType, eventForTopic, topicFor, UserCreated, validateEvent, assertValidEvent, InvalidPayloadError } from './index';

describe('event contracts', () => {
  it('registers at least the platform event types the services exchange', () => {
    const types = EVENT_REGISTRY.map((e) => e.contract.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'users.user-created',
        'users.user-renamed',
        'users.user-deactivated',
        'endpoints.api-created',
        'endpoints.api-updated',
        'endpoints.endpoint-updated',
        'endpoints.endpoint-removed',
        'templates.template-updated',
        'notifications.notification-sent',
      ]),
    );
  });

  it('derives topic and CloudEvents type from type and version', () => {
    expect(UserCreated.contract.topic).toBe('users.user-created.v1');
    expect(UserCreated.contract.ceType).toBe('platform.users.user-created.v1');
    expect(UserCreated.contract.domain).toBe('users');
    expect(topicFor('users.user-created', 2)).toBe('users.user-created.v2');
  });

  it('finds every contract by topic and by CloudEvents type', () => {
    for (const event of EVENT_REGISTRY) {
      expect(eventForTopic(event.contract.topic)).toBe(event);
      expect(eventForCeType(event.contract.ceType)).toBe(event);
    }
    expect(eventForTopic('users.unknown.v1')).toBeUndefined();
  });

  describe.each(EVENT_REGISTRY.map((e) => [e.contract.type, e] as const))('%s', (_type, event) => {
    it('accepts its valid example and keys it by a non-empty aggregate id', () => {
      const result = validateEvent(event, event.contract.examples.valid);
      expect(result).toMatchObject({ ok: true });
      expect(event.contract.key(assertValidEvent(event, event.contract.examples.valid))).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('rejects its invalid example with field errors', () => {
      const result = validateEvent(event, event.contract.examples.invalid);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
    });

    it('rejects unknown fields, so a typo cannot slip through', () => {
      const result = validateEvent(event, { ...event.contract.examples.valid, surprise: true });
      expect(result).toMatchObject({ ok: false, errors: [{ field: 'surprise' }] });
    });

    it('declares a sane partition count and retention', () => {
      expect(event.contract.partitions).toBeGreaterThanOrEqual(1);
      expect(event.contract.retentionMs).toBeGreaterThan(0);
    });
  });

  it('names the offending fields of an invalid payload', () => {
    expect(() => assertValidEvent(UserCreated, { userId: 'x', email: 'ada@example.com', displayName: 'Ada' })).toThrow(InvalidPayloadError);
    const result = validateEvent(UserCreated, { userId: 'x', email: 'ada@example.com', displayName: 'Ada' });
    expect(result).toEqual({ ok: false, errors: [{ field: 'userId', messages: ['userId must be a UUID'] }] });
  });

  it('rejects payloads that are not JSON objects', () => {
    expect(validateEvent(UserCreated, null)).toMatchObject({ ok: false, errors: [{ field: '(root)' }] });
    expect(validateEvent(UserCreated, [1, 2])).toMatchObject({ ok: false });
  });

  it('refuses malformed declarations', () => {
    class Thing {}
    const spec = { version: 1, key: () => 'k', description: 'x', examples: { valid: {}, invalid: {} } };
    expect(() => defineEvent(Thing, { ...spec, type: 'UserCreated' })).toThrow(/must look like/);
    expect(() => defineEvent(Thing, { ...spec, type: 'users.thing', version: 0 })).toThrow(/version/);
    expect(() => defineEvent(Thing, { ...spec, type: 'users.thing', partitions: 0 })).toThrow(/partitions/);
  });
});
