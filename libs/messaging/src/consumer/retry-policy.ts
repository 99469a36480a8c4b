import { backoffDelayMs, validateBackoff } from '@platform/core';

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
  validateBackoff({ initialMs: policy.initialBackoffMs, maxMs: policy.maxBackoffMs, multiplier: policy.multiplier });
  return policy;
}

/** The back-off before attempt `nextAttempt` (2 = the first retry), from the shared back-off of libs/core. */
export function backoffMs(policy: RetryPolicy, nextAttempt: number, random: () => number = Math.random): number {
  return backoffDelayMs({ initialMs: policy.initialBackoffMs, maxMs: policy.maxBackoffMs, multiplier: policy.multiplier }, nextAttempt - 1, random);
}
