import { InvalidPayloadError } from '@platform/contracts';
import { isRetriable, NonRetriableError, RetriableError } from './error-classification';
import { backoffMs, retryPolicy } from './retry-policy';

const sqlError = (code: string) => Object.assign(new Error(`sql ${code}`), { code });

describe('error classification', () => {
  it('trusts an explicit retriable flag', () => {
    expect(isRetriable(new RetriableError('later'))).toBe(true);
    expect(isRetriable(new NonRetriableError('never'))).toBe(false);
    expect(isRetriable(new InvalidPayloadError('x.y', []))).toBe(false);
    expect(isRetriable(Object.assign(new Error('kafka'), { retriable: true }))).toBe(true);
  });

  it('never retries programmer errors', () => {
    expect(isRetriable(new TypeError('undefined is not a function'))).toBe(false);
    expect(isRetriable(new ReferenceError('x is not defined'))).toBe(false);
  });

  it('judges PostgreSQL errors by SQLSTATE', () => {
    expect(isRetriable(sqlError('40001'))).toBe(true); // serialization failure
    expect(isRetriable(sqlError('40P01'))).toBe(true); // deadlock
    expect(isRetriable(sqlError('08006'))).toBe(true); // connection failure
    expect(isRetriable(sqlError('57P01'))).toBe(true); // admin shutdown
    expect(isRetriable(sqlError('23505'))).toBe(false); // unique violation
    expect(isRetriable(sqlError('42P01'))).toBe(false); // undefined table
    expect(isRetriable(sqlError('22P02'))).toBe(false); // invalid text representation
  });

  it('gives unknown errors the benefit of the doubt', () => {
    expect(isRetriable(new Error('something odd'))).toBe(true);
    expect(isRetriable('a string')).toBe(true);
  });
});

describe('retry policy', () => {
  it('backs off exponentially up to the cap, with jitter', () => {
    const policy = retryPolicy({ initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2 });
    const mid = () => 0.5;
    expect([2, 3, 4, 5, 6, 7].map((attempt) => backoffMs(policy, attempt, mid))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffMs(policy, 2, () => 0)).toBe(80);
    expect(backoffMs(policy, 2, () => 1)).toBe(120);
  });

  it('refuses nonsense', () => {
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => retryPolicy({ initialBackoffMs: 10, maxBackoffMs: 5 })).toThrow(/backoff/);
  });
});
