import { ConcurrencyError, StreamOrderError } from '@platform/event-store';
import { BusinessRuleViolation } from '@platform/service-kit';
import { CommandContention, retryLostRaces, type RaceRetryPolicy } from './api-commands';

const policy: RaceRetryPolicy = { maxAttempts: 50, maxTotalMs: 5_000, backoff: { initialMs: 5, maxMs: 250, multiplier: 2 } };
const conflict = () => new ConcurrencyError('api-1', 3, 4);

/** A fake clock: sleeping advances it, so the time bound is tested without waiting. */
function clock() {
  let now = 0;
  const waits: number[] = [];
  return { waits, now: () => now, sleep: async (ms: number) => void (waits.push(ms), (now += ms)), random: () => 0.5 };
}

/** An attempt that fails with the given errors, then answers 'done'. */
function failing(...errors: Error[]) {
  let calls = 0;
  const attempt = async () => {
    calls++;
    const error = errors.shift();
    if (error) throw error;
    return 'done';
  };
  return { attempt, calls: () => calls };
}

describe('retryLostRaces', () => {
  it('without If-Match, retries lost races with growing back-off until the command goes through', async () => {
    const c = clock();
    const f = failing(conflict(), conflict(), new StreamOrderError('api-1'), conflict());
    await expect(retryLostRaces('api-1', undefined, f.attempt, { policy, ...c })).resolves.toBe('done');
    expect(f.calls()).toBe(5);
    expect(c.waits).toEqual([5, 10, 20, 40]);
  });

  it('with If-Match, a newer version is the client\'s conflict: thrown at once (409)', async () => {
    const f = failing(conflict());
    await expect(retryLostRaces('api-1', 3, f.attempt, { policy, ...clock() })).rejects.toBeInstanceOf(ConcurrencyError);
    expect(f.calls()).toBe(1);
  });

  it('with If-Match, still retries a StreamOrderError (transaction order, not a version the client asserted)', async () => {
    const f = failing(new StreamOrderError('api-1'));
    await expect(retryLostRaces('api-1', 3, f.attempt, { policy, ...clock() })).resolves.toBe('done');
  });

  it('never retries what the domain refuses', async () => {
    const f = failing(new BusinessRuleViolation('duplicate-route', 'taken'));
    await expect(retryLostRaces('api-1', undefined, f.attempt, { policy, ...clock() })).rejects.toBeInstanceOf(BusinessRuleViolation);
    expect(f.calls()).toBe(1);
  });

  it('gives up with CommandContention after the attempts allowed', async () => {
    const c = clock();
    const f = failing(...Array.from({ length: 10 }, conflict));
    const error = await retryLostRaces('api-1', undefined, f.attempt, { policy: { ...policy, maxAttempts: 4 }, ...c }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandContention);
    expect(error).toMatchObject({ attempts: 4, retriable: true });
    expect((error as Error).cause).toBeInstanceOf(ConcurrencyError);
    expect(f.calls()).toBe(4);
  });

  it('gives up with CommandContention before a wait would pass the time allowed', async () => {
    const c = clock();
    const f = failing(...Array.from({ length: 100 }, conflict));
    const error = await retryLostRaces('api-1', undefined, f.attempt, { policy, ...c }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandContention);
    expect(c.now()).toBeLessThanOrEqual(policy.maxTotalMs);
    // Waits of 5 + 10 + … + 160 = 315 ms, then 250 ms each: 25 attempts start within 5 s, a 26th would not.
    expect(f.calls()).toBe(25);
    expect((error as CommandContention).elapsedMs).toBe(c.now());
  });
});
