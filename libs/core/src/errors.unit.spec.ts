import { backoffDelayMs, validateBackoff } from './backoff';
import { classifyFailure, isRetriable, isTransientFailure, NonRetriableError, RetriableError } from './errors';

const sqlError = (code: string) => Object.assign(new Error(`sql ${code}`), { code });

describe('failure classification', () => {
  it('trusts an explicit retriable flag', () => {
    expect(classifyFailure(new RetriableError('later'))).toBe('transient');
    expect(classifyFailure(new NonRetriableError('never'))).toBe('permanent');
    expect(isRetriable(Object.assign(new Error('kafka'), { retriable: true }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('kafka'), { retriable: false }))).toBe(false);
  });

  it('never retries programmer errors', () => {
    expect(isRetriable(new TypeError('undefined is not a function'))).toBe(false);
    expect(isRetriable(new ReferenceError('x is not defined'))).toBe(false);
    expect(isTransientFailure(new TypeError("Cannot read properties of undefined (reading 'ownerId')"))).toBe(false);
  });

  it('judges PostgreSQL errors by SQLSTATE', () => {
    for (const code of ['08006', '57P01', '57P03']) expect(classifyFailure(sqlError(code))).toBe('outage');
    for (const code of ['40001', '40P01', '53200']) expect(classifyFailure(sqlError(code))).toBe('transient');
    for (const code of ['08006', '40001', '57P01']) expect(isTransientFailure(sqlError(code))).toBe(true);
    for (const code of ['23505', '42P01', '22P02']) expect(classifyFailure(sqlError(code))).toBe('permanent');
  });

  it('knows a dropped connection by its message or code: an outage, not the work', () => {
    expect(classifyFailure(new Error('Connection terminated unexpectedly'))).toBe('outage');
    expect(classifyFailure(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe('outage');
    expect(classifyFailure(Object.assign(new Error('kafka connection'), { retriable: true, code: 'ECONNREFUSED' }))).toBe('outage');
  });

  it('gives unknown errors the benefit of the doubt within a budget, but never calls them transient', () => {
    expect(isRetriable(new Error('something odd'))).toBe(true);
    expect(isRetriable('a string')).toBe(true);
    expect(isTransientFailure(new Error('something odd'))).toBe(false);
    expect(isTransientFailure(sqlError('P0001'))).toBe(false);
  });
});

describe('back-off', () => {
  const backoff = { initialMs: 100, maxMs: 1000, multiplier: 2 };

  it('grows exponentially up to the cap, with ±20 % jitter', () => {
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(backoff, retry, () => 0.5))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelayMs(backoff, 1, () => 0)).toBe(80);
    expect(backoffDelayMs(backoff, 1, () => 1)).toBe(120);
  });

  it('refuses nonsense', () => {
    expect(() => validateBackoff({ initialMs: 10, maxMs: 5, multiplier: 2 })).toThrow(/bounds/);
    expect(() => validateBackoff({ initialMs: 10, maxMs: 50, multiplier: 0.5 })).toThrow(/multiplier/);
  });
});
