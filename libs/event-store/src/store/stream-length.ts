import { errorMessage, type CounterHandle, type Logger } from '@platform/core';

/** Streams whose open books start this process remembers (only streams past the limit get in). */
const REMEMBERED_STREAMS = 10_000;

export const DEFAULT_STREAM_LENGTH_WARNING = 10_000;

/**
 * Tells when an append carries a stream's open books (its events since the last closeBooks, see
 * PostgresEventStore) across the limit or a multiple of it: a warning and one count each time,
 * so an aggregate that grows without bound is noticed before its loads get slow.
 *
 * The check costs nothing below the limit: the open books are at most as long as the version.
 * Past it, the length needs where the books start; that is read once per stream and kept (a
 * closing by this process updates it). A closing by another process makes the kept start too
 * early and the length too long: every crossing it computes is confirmed with a fresh read first,
 * so no false warning follows, and the next true one comes at most `limit` events late.
 */
export class StreamLengthWatch {
  private readonly openings = new Map<string, number>();

  constructor(
    readonly limit: number,
    private readonly logger: Logger,
    private readonly crossings: CounterHandle,
    private readonly openingOf: (stream: string) => Promise<number | undefined>,
  ) {
    if (!(limit >= 1)) throw new RangeError(`streamLengthWarning must be >= 1 (Infinity turns it off), got ${limit}`);
  }

  /** After an append took the stream from version `before` to `after`. Never throws: it only reports. */
  async appended(stream: string, before: number, after: number): Promise<void> {
    if (after < this.limit) return;
    try {
      let opening = this.openings.get(stream);
      let fresh = opening === undefined;
      if (opening === undefined) opening = await this.readOpening(stream);
      if (!this.crosses(before, after, opening)) return;
      if (!fresh) {
        opening = await this.readOpening(stream);
        fresh = true;
        if (!this.crosses(before, after, opening)) return;
      }
      const length = after - opening + 1;
      this.crossings.inc();
      this.logger.warn('stream passed its length limit: loading it reads every event since its books were last closed; close its books or split it', {
        stream,
        length,
        limit: this.limit,
        openedAtVersion: opening,
      });
    } catch (error) {
      this.logger.debug('stream length check failed', { stream, error: errorMessage(error) });
    }
  }

  /** closeBooks opened the stream's books again at `openedAt`. */
  closed(stream: string, openedAt: number): void {
    if (this.openings.has(stream)) this.remember(stream, openedAt);
  }

  /** Open-books lengths before and after the append straddle a multiple of the limit. */
  private crosses(before: number, after: number, opening: number): boolean {
    const lengthBefore = Math.max(0, before - opening + 1);
    const lengthAfter = after - opening + 1;
    return Math.floor(lengthAfter / this.limit) > Math.floor(lengthBefore / this.limit);
  }

  private async readOpening(stream: string): Promise<number> {
    // Undefined: the append is not committed yet (inside a caller's transaction) and the stream is new.
    const opening = (await this.openingOf(stream)) ?? 1;
    this.remember(stream, opening);
    return opening;
  }

  private remember(stream: string, opening: number): void {
    this.openings.delete(stream);
    if (this.openings.size >= REMEMBERED_STREAMS) this.openings.delete(this.openings.keys().next().value as string);
    this.openings.set(stream, opening);
  }
}
