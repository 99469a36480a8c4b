/**
 * Which group generation a fetched batch belongs to. kafkajs (2.2.4) hands a batch's resolved
 * offset to whatever offset manager is current when the handler returns, and its `isStale()`
 * only looks at seeks: a batch fetched before a rejoin and finished after it would move the new
 * generation's fetch position past messages the new generation never delivered, while the
 * handlers dropped their partition state at the rejoin and never commit them. So a batch
 * resolves its offset only in the generation it was fetched in, and counts as stale once
 * another began: the new generation fetches from the committed offset and delivers those
 * messages again (the inbox and the window staging absorb the repeat).
 */
export class GroupGeneration {
  private current = 0;

  /** A new generation: the member (re)joined, or is about to. */
  advance(): void {
    this.current++;
  }

  /** Remembers the generation now, for one batch. */
  begin(): { readonly isCurrent: () => boolean } {
    const fetchedIn = this.current;
    return { isCurrent: () => fetchedIn === this.current };
  }
}
