/** How a use case retries a failing event before giving it to its dead-letter topic. */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 200, maxBackoffMs: 10_000, multiplier: 2 };

export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new Error(`maxAttempts must be a positive integer, got ${policy.maxAttempts}`);
  if (policy.initialBackoffMs < 0 || policy.maxBackoffMs < policy.initialBackoffMs) throw new Error('backoff bounds must satisfy 0 <= initialBackoffMs <= maxBackoffMs');
  if (policy.multiplier < 1) throw new Error(`multiplier must be >= 1, got ${policy.multiplier}`);
  return policy;
}

/** Exponential back-off before attempt `nextAttempt` (2 = the first retry), with ±20 % jitter. */
export function backoffMs(policy: RetryPolicy, nextAttempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** Math.max(0, nextAttempt - 2));
  return Math.round(base * (0.8 + 0.4 * random()));
}
