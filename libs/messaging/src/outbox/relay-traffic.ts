/** Rows in one round from which the relay counts as busy at once, whatever the rate. */
export const BURST_ROWS = 10;

/**
 * Whether rows come fast enough that the relay should poll instead of being woken. A commit that
 * notifies holds a cluster-wide lock until its WAL is flushed, so writers that all notify commit
 * one flush after another (no group commit); above some rate, polling every few milliseconds
 * costs the database less than that. The rate is the rows sent over windows of `windowMs`; a
 * round of `BURST_ROWS` or more counts as busy at once.
 */
export class RelayTraffic {
  private windowStart: number;
  private rows = 0;
  private busy = false;

  constructor(
    private readonly busyRowsPerSecond: number,
    private readonly windowMs = 250,
    now = Date.now(),
  ) {
    this.windowStart = now;
  }

  /** Counts a round's rows; returns whether the relay is busy now. */
  record(rows: number, now: number): boolean {
    this.rows += rows;
    if (rows >= BURST_ROWS) this.busy = true;
    const elapsed = now - this.windowStart;
    if (elapsed >= this.windowMs) {
      this.busy = rows >= BURST_ROWS || (this.rows * 1000) / elapsed >= this.busyRowsPerSecond;
      this.windowStart = now;
      this.rows = 0;
    }
    return this.busy;
  }
}
