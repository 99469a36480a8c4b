import { InvalidPayloadError } from '@platform/contracts';
import { NonRetriableError, RetriableError } from '@platform/core';
import { MalformedMessageError } from '../envelope/cloudevents-headers';
import { failureVerdict, isRetryLater } from './failure-verdict';
import { retryPolicy } from './retry-policy';

const policy = retryPolicy({ maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 1000 });
const pgError = (code: string) => Object.assign(new Error(`sql ${code}`), { code });

describe('failure verdict', () => {
  it('dead-letters unusable messages and permanent failures at once', () => {
    expect(failureVerdict(new MalformedMessageError('no ce_id'), 1, policy)).toMatchObject({ reason: 'invalid-payload', attempts: 1 });
    expect(failureVerdict(new InvalidPayloadError('x.y', []), 1, policy)).toMatchObject({ reason: 'invalid-payload' });
    expect(failureVerdict(new NonRetriableError('no'), 1, policy)).toMatchObject({ reason: 'non-retriable' });
    expect(failureVerdict(pgError('22P02'), 1, policy)).toMatchObject({ reason: 'non-retriable' });
    expect(failureVerdict(new TypeError('x is undefined'), 1, policy)).toMatchObject({ reason: 'non-retriable' });
  });

  it('retries other failures within the budget, then gives up', () => {
    const first = failureVerdict(new RetriableError('busy'), 1, policy);
    expect(isRetryLater(first) && first.counted).toBe(true);
    expect(isRetryLater(failureVerdict(new Error('odd'), 2, policy))).toBe(true);
    expect(failureVerdict(new Error('odd'), 3, policy)).toMatchObject({ reason: 'retries-exhausted', attempts: 3 });
    expect(failureVerdict(pgError('40P01'), 3, policy)).toMatchObject({ reason: 'retries-exhausted' });
  });

  it('waits out an outage without spending the budget, however long it lasts', () => {
    for (const outages of [1, 10, 1000]) {
      const verdict = failureVerdict(pgError('57P01'), 3, policy, outages);
      expect(isRetryLater(verdict) && !verdict.counted && verdict.retryInMs <= 1200).toBe(true);
    }
    expect(isRetryLater(failureVerdict(new Error('Connection terminated unexpectedly'), 99, policy, 5))).toBe(true);
  });
});
