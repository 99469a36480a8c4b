import { createdAtOf, uniqueName } from './names';

describe('uniqueName', () => {
  it('is unique, safe for SQL and Kafka, and remembers when it was made', () => {
    const before = Date.now();
    const a = uniqueName('My Spec!');
    const b = uniqueName('My Spec!');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^my_spec_[0-9a-z]+_[0-9a-f]{6}$/);
    expect(createdAtOf(a)).toBeGreaterThanOrEqual(before);
    expect(createdAtOf(a)).toBeLessThanOrEqual(Date.now());
    expect(createdAtOf('t_something_else')).toBeUndefined();
  });
});
