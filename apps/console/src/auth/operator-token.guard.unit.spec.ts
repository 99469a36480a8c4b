import { operatorAccess } from './operator-token.guard';

describe('operatorAccess: writes need the bearer token', () => {
  const token = 'a-long-operator-token-0123456789';

  it('allows the token, refuses a wrong one, and tells a missing one apart', () => {
    expect(operatorAccess(`Bearer ${token}`, token)).toBe('allowed');
    expect(operatorAccess(`bearer ${token}`, token)).toBe('allowed');
    expect(operatorAccess(`Bearer ${token}x`, token)).toBe('wrong');
    expect(operatorAccess(`Bearer ${token.slice(1)}`, token)).toBe('wrong');
    expect(operatorAccess(undefined, token)).toBe('missing');
    expect(operatorAccess(token, token)).toBe('missing');
    expect(operatorAccess('Basic dXNlcjpwYXNz', token)).toBe('missing');
  });
});
