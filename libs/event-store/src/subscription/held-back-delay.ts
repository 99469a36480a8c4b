/**
 * How long a caught-up reader waits before reading again. Normally until a wake-up or the poll
 * interval; but events held back behind a transaction still appending send no wake-up when
 * that transaction ends, so while some are held back it looks again soon: 50 ms, doubling with each
 * read that still finds them held back, never longer than the poll interval.
 */
export function nextReadDelay(pollIntervalMs: number, heldBackReads: number): number {
  if (heldBackReads <= 0) return pollIntervalMs;
  return Math.min(pollIntervalMs, 25 * 2 ** Math.min(heldBackReads, 10));
}
