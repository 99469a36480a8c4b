/** Exponential back-off: the wait before retry n grows by `multiplier` from `initialMs` up to `maxMs`. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

/**
 * The wait before the `retry`-th retry (1 = the first), with ±20 % jitter so that many
 * clients failing together do not retry together.
 */
export function backoffDelayMs(backoff: Backoff, retry: number, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** Math.max(0, retry - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Rejects a back-off that would never wait, shrink, or overflow its cap. */
export function validateBackoff(backoff: Backoff): Backoff {
  if (!(backoff.initialMs >= 0) || !(backoff.maxMs >= backoff.initialMs)) throw new Error('back-off bounds must satisfy 0 <= initial <= max');
  if (!(backoff.multiplier >= 1)) throw new Error(`back-off multiplier must be >= 1, got ${backoff.multiplier}`);
  return backoff;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
