import { BusinessRuleViolation } from '@platform/service-kit';
import { deactivate, normalizeEmail, reactivate, rename, type User } from './user';

const ada: User = { id: '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10', email: 'ada@example.com', displayName: 'Ada', status: 'active' };

describe('user domain', () => {
  it('renames and says what the name was', () => {
    expect(rename(ada, '  Countess Lovelace ')).toEqual({
      user: { ...ada, displayName: 'Countess Lovelace' },
      event: { userId: ada.id, displayName: 'Countess Lovelace', previousDisplayName: 'Ada' },
    });
  });

  it('emits nothing when the name does not change', () => {
    expect(rename(ada, 'Ada')).toEqual({ user: ada, event: null });
  });

  it('deactivates once; a deactivated user can be neither renamed nor deactivated again', () => {
    const { user, event } = deactivate(ada, 'requested', 'moving on');
    expect(event).toEqual({ userId: ada.id, reason: 'requested', note: 'moving on' });
    expect(() => rename(user, 'Other')).toThrow(BusinessRuleViolation);
    expect(() => deactivate(user, 'abuse')).toThrow(/deactivated/);
  });

  it('reactivates a deactivated user once; an active user is left as it is', () => {
    const { user } = deactivate(ada, 'requested');
    expect(reactivate(user)).toEqual({ user: ada, event: { userId: ada.id } });
    expect(reactivate(ada)).toEqual({ user: ada, event: null });
  });

  it('normalizes e-mail addresses so uniqueness ignores case', () => {
    expect(normalizeEmail(' Ada@Example.COM ')).toBe('ada@example.com');
  });
});
