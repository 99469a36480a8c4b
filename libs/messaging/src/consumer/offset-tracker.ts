/**
 * Which offset of one partition may be committed. Messages finish out of order (a parked
 * key waits while later keys go on), so the commit point is the lowest offset not finished
 * yet: everything below it is done, and on a restart nothing done is lost and nothing
 * unfinished is skipped.
 */
export class OffsetTracker {
  private readonly pending = new Set<bigint>();
  private highestDone = -1n;
  private lowestPending?: bigint;

  /** Registers a message taken for processing. Offsets must be added in increasing order. */
  add(offset: string): void {
    const value = BigInt(offset);
    this.pending.add(value);
    if (this.lowestPending === undefined || value < this.lowestPending) this.lowestPending = value;
  }

  done(offset: string): void {
    const value = BigInt(offset);
    if (!this.pending.delete(value)) return;
    if (value > this.highestDone) this.highestDone = value;
    if (value === this.lowestPending) this.lowestPending = this.pending.size === 0 ? undefined : min(this.pending);
  }

  /** Forgets a message that will not be processed here (fetched before a rebalance or seek): no longer holds the commit back, and not done either. */
  discard(offset: string): void {
    const value = BigInt(offset);
    if (!this.pending.delete(value)) return;
    if (value === this.lowestPending) this.lowestPending = this.pending.size === 0 ? undefined : min(this.pending);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The offset to commit (the next one to read after a restart), or undefined if none yet. */
  committable(): string | undefined {
    if (this.lowestPending !== undefined) return this.lowestPending.toString();
    return this.highestDone >= 0n ? (this.highestDone + 1n).toString() : undefined;
  }
}

function min(values: Iterable<bigint>): bigint {
  let lowest: bigint | undefined;
  for (const v of values) if (lowest === undefined || v < lowest) lowest = v;
  if (lowest === undefined) throw new Error('min of nothing');
  return lowest;
}
