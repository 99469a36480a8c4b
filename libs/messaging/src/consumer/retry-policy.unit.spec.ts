import { backoffMs, retryPolicy } from './retry-policy';

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
    expect(() => retryPolicy({ initialBackoffMs: 10, maxBackoffMs: 5 })).toThrow(/back-off/);
  });
});
