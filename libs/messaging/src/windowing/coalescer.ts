/**
 * Runs `work` once for everything submitted in the same turn of the event loop, or while the
 * previous run was still going: many callers, one call (one transaction for the batches of
 * several partitions, say). Each caller gets its own item's answer, or the run's error.
 */
export class Coalescer<I, O> {
  private queue: { item: I; resolve: (out: O) => void; reject: (error: unknown) => void }[] = [];
  private running = false;
  private scheduled = false;

  /** @param work answers each item, in the order given. */
  constructor(private readonly work: (items: readonly I[]) => Promise<readonly O[]>) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: batches handed over in the same tick all join.
    setImmediate(() => {
      this.scheduled = false;
      void this.runOnce();
    });
  }

  private async runOnce(): Promise<void> {
    const taken = this.queue;
    this.queue = [];
    if (taken.length === 0) return;
    this.running = true;
    try {
      const answers = await this.work(taken.map((t) => t.item));
      taken.forEach((t, i) => t.resolve(answers[i]));
    } catch (error) {
      for (const t of taken) t.reject(error);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
