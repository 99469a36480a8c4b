import { backoffDelayMs, errorMessage, silentLogger, type Logger } from '@platform/core';
import type { AppendSignals } from '../notify/append-signals';
import type { RecordedEvent } from '../store/event';
import { LOG_START, positionOf, type LogPosition } from '../store/log-position';
import type { ReadAllOptions, ReadAllPage } from '../store/read-all';
import { nextReadDelay } from './held-back-delay';
import type { StoredEventUpcaster } from '../upcasting/stored-event-upcaster';

export interface SubscriptionOptions<T = unknown> {
  /** Exclusive: deliver events after this place in the global order (default: from the start). */
  readonly from?: LogPosition;
  /** Events read per query (default 500). */
  readonly batchSize?: number;
  /** Fallback when no wake-up arrives (default 1000 ms). */
  readonly pollIntervalMs?: number;
  readonly types?: readonly string[];
  /** Called once per event, in order, one at a time. If it throws, the subscription ends. */
  readonly handler: (event: RecordedEvent<T>) => Promise<void> | void;
  readonly logger?: Logger;
}

export type SubscriptionEnd = { readonly reason: 'stopped' } | { readonly reason: 'failed'; readonly error: unknown; readonly event: RecordedEvent };

export interface Subscription {
  /** After the last handled event: where a new subscription would resume. */
  readonly position: LogPosition;
  readonly delivered: number;
  /** Resolves once it has ended: stopped, or failed on a handler error (it never skips an event). */
  readonly ended: Promise<SubscriptionEnd>;
  stop(): Promise<void>;
}

export interface SubscriptionSource {
  /** Pages as stored; each event is upcast (`upcaster`) right before its handler sees it. */
  readAllStored(options: ReadAllOptions): Promise<ReadAllPage>;
  readonly upcaster: Pick<StoredEventUpcaster, 'upcast'>;
  readonly signals: AppendSignals;
}

/**
 * A catch-up subscription over the gap-safe global order: reads pages, hands each event to
 * the handler in order, then sleeps until a wake-up (this process's appends, NOTIFY from
 * others) or the poll interval. Held-back events are simply not readable yet; it gets them
 * on a later page, in order, once the transactions still appending before them have ended.
 */
export class CatchUpSubscription<T = unknown> implements Subscription {
  readonly ended: Promise<SubscriptionEnd>;
  private position_: LogPosition;
  private delivered_ = 0;
  private readonly abort = new AbortController();
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly logger: Logger;

  constructor(
    private readonly source: SubscriptionSource,
    private readonly options: SubscriptionOptions<T>,
  ) {
    this.position_ = options.from ?? LOG_START;
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.logger = options.logger ?? silentLogger;
    source.signals.retainListener();
    this.ended = this.run().finally(() => source.signals.releaseListener());
  }

  get position(): LogPosition {
    return this.position_;
  }

  get delivered(): number {
    return this.delivered_;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.ended;
  }

  private async run(): Promise<SubscriptionEnd> {
    const { signals } = this.source;
    let failures = 0;
    let heldBackReads = 0;
    while (!this.abort.signal.aborted) {
      const seen = signals.current;
      let page: ReadAllPage;
      try {
        page = await this.source.readAllStored({ after: this.position_, limit: this.batchSize, types: this.options.types });
        failures = 0;
      } catch (error) {
        failures += 1;
        this.logger.warn('subscription read failed; retrying', { error: errorMessage(error), attempt: failures });
        await signals.wait(signals.current, backoffDelayMs({ initialMs: 100, maxMs: this.pollIntervalMs, multiplier: 2 }, failures), this.abort.signal);
        continue;
      }
      for (const event of page.events) {
        if (this.abort.signal.aborted) return { reason: 'stopped' };
        try {
          // An event that cannot be upcast ends the subscription at it, like a failing handler.
          await this.options.handler(this.source.upcaster.upcast<T>(event));
        } catch (error) {
          this.logger.error('subscription handler failed; subscription stopped at the event', { error: errorMessage(error), eventId: event.id });
          return { reason: 'failed', error, event };
        }
        this.position_ = positionOf(event);
        this.delivered_ += 1;
      }
      this.position_ = page.next;
      heldBackReads = page.caughtUp && page.heldBack ? heldBackReads + 1 : 0;
      if (page.caughtUp) await signals.wait(seen, nextReadDelay(this.pollIntervalMs, heldBackReads), this.abort.signal);
    }
    return { reason: 'stopped' };
  }
}
