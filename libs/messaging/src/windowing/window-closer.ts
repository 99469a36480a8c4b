import { validateEvent, type EventClass } from '@platform/contracts';
import type { Pool } from 'pg';
import type { ReceivedEnvelope } from '../envelope/envelope';
import { isRetriable } from '../consumer/error-classification';
import { backoffMs, type RetryPolicy } from '../consumer/retry-policy';
import type { HandlerContext } from '../consumer/use-case';
import { errorFields, type Logger } from '../logging/logger';
import type { OutboxPublisher } from '../outbox/publisher';
import { withTransaction } from '../sql/sql-client';
import { lockDueWindow, markWindowClosed, windowEvents, windowIdString, type DueWindow, type WindowId } from './window-store';
import type { EventWindow, WindowedUseCase } from './windowed-use-case';

export interface WindowCloserOptions {
  readonly group: string;
  readonly useCase: WindowedUseCase;
  readonly pool: Pool;
  readonly publisher: OutboxPublisher;
  readonly policy: RetryPolicy;
  readonly logger: Logger;
  /** Called after a window's result committed (or its events were dead-lettered). */
  readonly onClosed: (id: WindowId) => void;
  /** Runs before each closing round: brings this member's watermarks up to date. */
  readonly beforeClosing?: () => Promise<void>;
  /** Dead-letters the events of a window that cannot be handled. */
  readonly deadLetterWindow: (events: readonly ReceivedEnvelope[], error: unknown, attempts: number) => Promise<void>;
  /** Fallback scan for windows no timer of ours knows (staged by an instance that died). */
  readonly pollIntervalMs?: number;
}

/** How late, in ms after its close time, each window was handled: the emit delay. */
export interface EmitDelays {
  readonly samples: number[];
}

/**
 * Handles windows when they close: a timer for the earliest close time this instance knows,
 * plus a slow poll. Each window is handled in one transaction that locks its row (SKIP LOCKED,
 * so instances share the work), runs the handler, and marks it closed: exactly once.
 */
export class WindowCloser {
  readonly emitDelays: EmitDelays = { samples: [] };
  private readonly due: number[] = [];
  private timer?: NodeJS.Timeout;
  private poller?: NodeJS.Timeout;
  private running = false;
  private closing?: Promise<void>;
  private again = false;
  /** Windows failing right now: attempts so far and when to try again. */
  private readonly failing = new Map<string, { id: WindowId; attempts: number; notBefore: number }>();

  constructor(private readonly options: WindowCloserOptions) {}

  start(): void {
    this.running = true;
    this.poller = setInterval(() => this.kick(), this.options.pollIntervalMs ?? 1000);
    this.kick();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.poller);
    clearTimeout(this.timer);
    await this.closing;
  }

  /** Remembers a close time; the timer is moved earlier when needed. */
  schedule(closeAtMs: number): void {
    this.due.push(closeAtMs);
    this.arm();
  }

  private arm(): void {
    if (!this.running || this.due.length === 0) return;
    const earliest = Math.min(...this.due);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(0, earliest - Date.now()));
  }

  /** Looks for due windows now (after a watermark moved, say). */
  kick(): void {
    if (!this.running) return;
    if (this.closing) {
      this.again = true;
      return;
    }
    this.closing = (async () => {
      do {
        this.again = false;
        const now = Date.now();
        for (let i = this.due.length - 1; i >= 0; i--) if (this.due[i] <= now) this.due.splice(i, 1);
        await this.options.beforeClosing?.().catch((error) => this.options.logger.debug('watermark refresh failed', errorFields(error)));
        await this.closeDueWindows(now);
      } while (this.again && this.running);
    })()
      .catch((error) => this.options.logger.error('window closing failed', { group: this.options.group, ...errorFields(error) }))
      .finally(() => {
        this.closing = undefined;
        this.arm();
      });
  }

  private async closeDueWindows(now: number): Promise<void> {
    while (this.running) {
      const outcome = await this.closeOne(Math.max(now, Date.now()));
      if (outcome === 'none') return;
    }
  }

  private async closeOne(now: number): Promise<'closed' | 'none' | 'retry-later'> {
    const backingOff = [...this.failing.values()].filter((f) => f.notBefore > now).map((f) => f.id);
    const { pool, group, useCase, publisher, logger } = this.options;
    let window: DueWindow | undefined;
    try {
      const outcome = await withTransaction(pool, async (tx) => {
        window = await lockDueWindow(tx, group, now, backingOff);
        if (!window) return 'none' as const;
        const events = (await windowEvents(tx, group, window)).map((stored) => this.revive(stored));
        const eventWindow: EventWindow<ReceivedEnvelope> = { key: window.key, start: new Date(window.start), end: new Date(window.end), events };
        const context: HandlerContext = {
          tx,
          logger,
          publish: (event, payload, metadata) =>
            publisher.publish(tx, event, payload, { correlationId: events[0]?.correlationId, causationId: events[events.length - 1]?.id, ...metadata }),
        };
        await useCase.handleWindow(eventWindow as never, context);
        await markWindowClosed(tx, group, window, events.length, false);
        return 'closed' as const;
      });
      if (outcome === 'closed' && window) this.recordClosed(window);
      return outcome;
    } catch (error) {
      if (!window) throw error;
      return this.handleFailure(window, error);
    }
  }

  private recordClosed(window: DueWindow): void {
    this.failing.delete(windowIdString(window));
    const delay = Date.now() - window.closeAt;
    this.emitDelays.samples.push(delay);
    if (this.emitDelays.samples.length > 100_000) this.emitDelays.samples.splice(0, 50_000);
    this.options.onClosed(window);
  }

  /** A failing window is retried with back-off; after the budget its events are dead-lettered. */
  private async handleFailure(window: DueWindow, error: unknown): Promise<'closed' | 'retry-later'> {
    const { group, policy, logger, pool } = this.options;
    const id = windowIdString(window);
    const attempts = (this.failing.get(id)?.attempts ?? 0) + 1;
    if (isRetriable(error) && attempts < policy.maxAttempts) {
      const wait = backoffMs(policy, attempts + 1);
      logger.warn('window handler failed; retrying', { group, key: window.key, start: new Date(window.start).toISOString(), attempt: attempts, retryInMs: wait, ...errorFields(error) });
      this.failing.set(id, { id: { key: window.key, start: window.start }, attempts, notBefore: Date.now() + wait });
      this.schedule(Date.now() + wait);
      return 'retry-later';
    }
    // Dead-letter first, then mark: a crash in between dead-letters twice rather than never.
    const events = await withTransaction(pool, async (tx) => (await windowEvents(tx, group, window)).map((stored) => this.revive(stored)));
    await this.options.deadLetterWindow(events, error, attempts);
    await withTransaction(pool, (tx) => markWindowClosed(tx, group, window, events.length, true));
    logger.error('window dead-lettered', { group, key: window.key, start: new Date(window.start).toISOString(), events: events.length, attempts, ...errorFields(error) });
    this.recordClosed(window);
    return 'closed';
  }

  private revive(stored: Omit<ReceivedEnvelope, 'event' | 'payload'> & { payload: unknown }): ReceivedEnvelope {
    const event = (this.options.useCase.events as readonly EventClass[]).find((e) => e.contract.ceType === stored.type);
    if (!event) throw new Error(`window holds an event of type ${stored.type} that ${this.options.useCase.name} does not declare`);
    const result = validateEvent(event, stored.payload);
    if (!result.ok) throw new Error(`staged event ${stored.id} no longer validates`);
    return { ...stored, payload: result.value, event };
  }
}
