/**
 * Tells when a partition's commit point has stayed put too long while it holds unfinished
 * events: once per stall, so a stuck partition is reported with its facts instead of showing
 * only as lag. A partition that moves, or has nothing pending, starts over.
 */
export class StallWatch {
  private readonly seen = new Map<string, { offset: string; since: number; reported: boolean }>();

  constructor(private readonly reportAfterMs: number) {}

  /** Returns how long the partition has been stuck when it is time to report it, else undefined. */
  observe(partition: string, committable: string | undefined, pending: number, now = Date.now()): number | undefined {
    const last = this.seen.get(partition);
    if (committable === undefined || pending === 0) {
      this.seen.delete(partition);
      return undefined;
    }
    if (last?.offset !== committable) {
      this.seen.set(partition, { offset: committable, since: now, reported: false });
      return undefined;
    }
    if (last.reported || now - last.since < this.reportAfterMs) return undefined;
    last.reported = true;
    return now - last.since;
  }

  /** Partitions no longer held are forgotten. */
  forget(): void {
    this.seen.clear();
  }
}
