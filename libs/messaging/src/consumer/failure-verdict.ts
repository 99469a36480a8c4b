import { classifyFailure } from '@platform/core';
import type { DeadLetterFailure } from './dead-letters';
import { isPoisonMessageError } from './read-message';
import { backoffMs, type RetryPolicy } from './retry-policy';

/** Try again after `retryInMs`; `counted` is false when the attempt did not spend the retry budget. */
export interface RetryLater {
  readonly retryInMs: number;
  readonly counted: boolean;
}

export type FailureVerdict = RetryLater | DeadLetterFailure;

export const isRetryLater = (verdict: FailureVerdict): verdict is RetryLater => 'retryInMs' in verdict;

/**
 * What becomes of an event (or a window) whose handling failed, the same for every kind of use
 * case: unusable messages and permanent failures go to the dead-letter topic at once; an outage
 * (the database restarting, a dropped connection) is waited out without spending the budget, so
 * an outage never fills a dead-letter topic; anything else is retried with back-off until
 * `policy.maxAttempts` attempts failed.
 *
 * @param attempts budgeted attempts so far, the failed one included
 * @param outages consecutive outage failures so far, the failed one included (paces the wait)
 */
export function failureVerdict(error: unknown, attempts: number, policy: RetryPolicy, outages = 0): FailureVerdict {
  if (isPoisonMessageError(error)) return { reason: 'invalid-payload', error, attempts };
  const kind = classifyFailure(error);
  if (kind === 'permanent') return { reason: 'non-retriable', error, attempts };
  if (kind === 'outage') return { retryInMs: backoffMs(policy, Math.max(2, outages + 1)), counted: false };
  if (attempts >= policy.maxAttempts) return { reason: 'retries-exhausted', error, attempts };
  return { retryInMs: backoffMs(policy, attempts + 1), counted: true };
}
