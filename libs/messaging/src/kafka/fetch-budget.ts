/** The least a consumer may fetch at once, whatever its share: one record batch is returned whole anyway. */
export const MIN_FETCH_BYTES = 64 * 1024;

/**
 * The bytes a process's consumer groups may hold fetched and not yet handed back, shared
 * equally by the groups running. A group catching up a backlog holds a fetched batch for each
 * of its partitions while its handler works through them; twenty groups held one for each of
 * 120 partitions, 250 decoded messages each, most of them waiting for one of the pool's few
 * database connections: +256 MB of RSS. With a share each, a group asks Kafka only for what its
 * share has room for, and asks nothing while its batches fill it; one group alone keeps the
 * whole budget.
 */
export class FetchBudget {
  private members = 0;

  constructor(readonly totalBytes: number) {
    if (!(totalBytes >= MIN_FETCH_BYTES)) throw new Error(`a fetch budget of ${totalBytes} bytes is below the least one fetch takes (${MIN_FETCH_BYTES})`);
  }

  /** A group starts fetching; the returned function ends its membership. */
  join(): () => void {
    this.members++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.members--;
    };
  }

  /** What each running group may hold at once. */
  get share(): number {
    return Math.max(MIN_FETCH_BYTES, Math.floor(this.totalBytes / Math.max(1, this.members)));
  }
}
