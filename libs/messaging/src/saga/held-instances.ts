/**
 * Instances whose due timeout could not fire because a message's transaction held the instance's
 * row. The firer leaves them out of its claims and of its next-due-time query until their back-off
 * ends: asked again at once, the held timeout (the earliest due) made the firer claim and poll in a
 * loop for as long as the message's transaction lasted. The back-off is per instance, so the other
 * instances' timeouts keep firing on time; it doubles while the instance stays held, up to `maxMs`.
 */
export class HeldInstances {
  private readonly backOffs = new Map<string, { until: number; delayMs: number }>();

  constructor(
    private readonly firstMs: number,
    private readonly maxMs: number,
  ) {}

  /** The instance was found held at `now`: returns when to look at it again. */
  held(key: string, now: number): number {
    const last = this.backOffs.get(key);
    const delayMs = last ? Math.min(last.delayMs * 2, this.maxMs) : this.firstMs;
    const until = now + delayMs;
    this.backOffs.set(key, { until, delayMs });
    return until;
  }

  /** Its timeout fired: a later hold starts from the first back-off again. */
  fired(key: string): void {
    this.backOffs.delete(key);
  }

  /**
   * The instances still backing off at `now`, to leave out of a claim. One whose back-off ended
   * more than `maxMs` ago is forgotten (its timeout was cancelled, or fired by another process).
   */
  skipped(now: number): string[] {
    const keys: string[] = [];
    for (const [key, { until }] of this.backOffs) {
      if (until > now) keys.push(key);
      else if (until + this.maxMs < now) this.backOffs.delete(key);
    }
    return keys;
  }

  /** The earliest end of a back-off still running at `now`, if any: the firer's timer goes off then. */
  nextEnd(now: number): number | undefined {
    let next: number | undefined;
    for (const { until } of this.backOffs.values()) if (until > now && (next === undefined || until < next)) next = until;
    return next;
  }
}
