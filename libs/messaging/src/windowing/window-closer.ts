import { instantiateEvent, type EventClass } from '@platform/contracts';
import type { Pool } from 'pg';
import type { EventEnvelope, ReceivedEnvelope } from '../envelope/envelope';
import { isRetriable } from '../consumer/error-classification';
import { AfterCommit } from '../consumer/after-commit';
import { backoffMs, type RetryPolicy } from '../consumer/retry-policy';
import type { HandlerContext } from '../consumer/use-case';
import { errorFields, withTransaction, type Logger, type SqlClient } from '@platform/core';
import type { OutboxPublisher } from '../outbox/publisher';
import {
  closeAndLoadWindows,
  countDueWindows,
  eventsOfWindows,
  lockDueWindows,
  markWindowsClosed,
  pruneHandledWindows,
  pruneStagedEvents,
  reopenWindows,
  windowIdString,
  type DueWindow,
  type StoredEnvelope,
  type WindowId,
} from './window-store';
import type { EventWindow, WindowBatchContext, WindowedUseCase } from './windowed-use-case';
import { deleteInBatches } from '../retention/delete-in-batches';

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
  /** True while windows this member waits for are past their close time but not handled. */
  readonly stillWaiting?: () => boolean;
  /** Dead-letters the events of a window that cannot be handled. */
  readonly deadLetterWindow: (events: readonly ReceivedEnvelope[], error: unknown, attempts: number) => Promise<void>;
  /** Event-time windows wait for every partition's watermark; processing-time ones need not. */
  readonly gateOnWatermarks: boolean;
  /** Fallback scan for windows no timer of ours knows (staged by an instance that died). */
  readonly pollIntervalMs?: number;
  /** How long handled windows and their staged events are kept (default 1 h). */
  readonly retainHandledWindowsMs?: number;
}

/** A locked window with its staged events. */
interface LoadedWindow {
  readonly window: DueWindow;
  readonly events: readonly StoredEnvelope[];
}

interface BatchOutcome {
  /** Handlers' afterCommit callbacks of the windows that commit. */
  readonly committed: AfterCommit;
  locked: number;
  closed: DueWindow[];
  failed: { window: DueWindow; error: unknown }[];
}

/** A window handler threw during an optimistic batch: redo the batch window by window. */
class WindowFailed extends Error {
  constructor(readonly original: unknown) {
    super('a window handler failed');
  }
}

/** How often staged events of long-handled windows are deleted. */
const PRUNE_INTERVAL_MS = 60_000;

/** At most this many windows per transaction, and this many transactions side by side. */
const BATCH = 20;
const PARALLEL_BATCHES = 4;

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
  /** Distinct close times this member knows of (windows share them: one per window start). */
  private readonly due = new Set<number>();
  private timer?: NodeJS.Timeout;
  private pruner?: NodeJS.Timeout;
  private recheck?: NodeJS.Timeout;
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
    this.pruner = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.kick();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.poller);
    clearInterval(this.pruner);
    clearTimeout(this.timer);
    clearTimeout(this.recheck);
    await this.closing;
  }

  /** Remembers a close time; the timer is moved earlier when needed. */
  schedule(closeAtMs: number): void {
    if (this.due.has(closeAtMs)) return;
    this.due.add(closeAtMs);
    this.arm();
  }

  private arm(): void {
    if (!this.running || this.due.size === 0) return;
    let earliest = Infinity;
    for (const at of this.due) if (at < earliest) earliest = at;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(0, earliest - Date.now()));
  }

  /**
   * Deletes long-handled windows and their staged events, so neither table grows forever.
   * Returns how many staged events and windows went.
   */
  async prune(now = Date.now()): Promise<{ events: number; windows: number }> {
    const handledBefore = now - (this.options.retainHandledWindowsMs ?? 60 * 60 * 1000);
    const pruned = { events: 0, windows: 0 };
    const { pool, group, logger } = this.options;
    try {
      // Events first: a window is deleted only once none of its events is left.
      await deleteInBatches((limit) => pruneStagedEvents(pool, group, handledBefore, limit), (n) => (pruned.events += n));
      await deleteInBatches((limit) => pruneHandledWindows(pool, group, handledBefore, limit), (n) => (pruned.windows += n));
    } catch (error) {
      logger.warn('pruning handled windows failed', { group, ...errorFields(error) });
    }
    if (pruned.events + pruned.windows > 0) logger.debug('pruned handled windows', { group, ...pruned });
    return pruned;
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
        for (const at of this.due) if (at <= now) this.due.delete(at);
        await this.options.beforeClosing?.().catch((error) => this.options.logger.debug('watermark refresh failed', errorFields(error)));
        await this.closeDueWindows(now);
      } while (this.again && this.running);
    })()
      .catch((error) => this.options.logger.error('window closing failed', { group: this.options.group, ...errorFields(error) }))
      .finally(() => {
        this.closing = undefined;
        this.arm();
        if (this.running && this.options.stillWaiting?.()) {
          clearTimeout(this.recheck);
          this.recheck = setTimeout(() => this.kick(), 20);
        }
      });
  }

  /**
   * A few transactions side by side, each taking its own due windows (SKIP LOCKED): handling a
   * window is mostly waiting for the database, so this shortens the time to the last window.
   * The due windows are shared out evenly (50 due: 4 x 13, not 20 + 20 + 10), because the
   * last window handled is as late as the longest transaction.
   */
  private async closeDueWindows(now: number): Promise<void> {
    const { pool, group, gateOnWatermarks } = this.options;
    const due = await countDueWindows(pool, group, now, gateOnWatermarks);
    if (due === 0) return;
    const perTransaction = Math.min(BATCH, Math.ceil(due / PARALLEL_BATCHES));
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL_BATCHES, Math.ceil(due / perTransaction)) }, async () => {
        while (this.running) {
          const handled = await this.closeBatch(Math.max(now, Date.now()), perTransaction);
          if (handled === 0) return;
        }
      }),
    );
  }

  /**
   * Handles up to BATCH due windows in one transaction. Optimistically first, all handlers
   * straight through; if one throws, the transaction is rolled back and the batch is redone
   * with a savepoint per window, so the failing window alone is rolled back (and retried
   * later) while the others commit.
   */
  private async closeBatch(now: number, limit: number): Promise<number> {
    const backingOff = [...this.failing.values()].filter((f) => f.notBefore > now).map((f) => f.id);
    let outcome: BatchOutcome;
    try {
      outcome = await this.runBatch(now, limit, backingOff, false);
    } catch (error) {
      if (!(error instanceof WindowFailed)) throw error;
      outcome = await this.runBatch(now, limit, backingOff, true);
    }
    outcome.committed.run(this.options.logger);
    for (const window of outcome.closed) this.recordClosed(window);
    for (const { window, error } of outcome.failed) await this.handleFailure(window, error);
    return outcome.locked;
  }

  private runBatch(now: number, limit: number, skip: readonly WindowId[], isolate: boolean): Promise<BatchOutcome> {
    const { pool, group, useCase } = this.options;
    return withTransaction(pool, async (tx) => {
      const outcome: BatchOutcome = { committed: new AfterCommit(), locked: 0, closed: [], failed: [] };
      const locked = await lockDueWindows(tx, group, now, skip, limit, this.options.gateOnWatermarks);
      outcome.locked = locked.length;
      // Marked handled and loaded in one statement; the mark commits with the results.
      const windows = await closeAndLoadWindows(tx, group, locked);
      // Only a stager racing a prune can leave a window without events: closed, no handler call.
      for (const { window } of windows.filter((w) => w.events.length === 0)) outcome.closed.push(window);
      const toHandle = windows.filter((w) => w.events.length > 0);
      if (toHandle.length > 0 && useCase.handleWindows && !isolate) await this.handleTogether(tx, toHandle, outcome);
      else if (toHandle.length > 0) await this.handleOneByOne(tx, toHandle, isolate, outcome);
      // Failed windows under their savepoints: open again, to be retried after their back-off.
      await reopenWindows(tx, group, outcome.failed.map((f) => f.window));
      return outcome;
    });
  }

  /** The whole batch in one handleWindows call; if it throws, the batch is redone window by window. */
  private async handleTogether(tx: SqlClient, windows: readonly LoadedWindow[], outcome: BatchOutcome): Promise<void> {
    const { useCase, publisher, logger } = this.options;
    const eventWindows = windows.map((w) => this.eventWindow(w));
    const context: WindowBatchContext = {
      tx,
      logger,
      afterCommit: outcome.committed.add,
      publishAll: (items) => publisher.publishAll(tx, items.map(({ window, ...pending }) => ({ ...pending, metadata: { ...causedBy(window), ...pending.metadata } }))),
    };
    try {
      await useCase.handleWindows?.(eventWindows as never, context);
    } catch (error) {
      throw new WindowFailed(error);
    }
    outcome.closed.push(...windows.map(({ window }) => window));
  }

  /** handleWindow per window; isolated, each under a savepoint so a failing one is rolled back alone. */
  private async handleOneByOne(tx: SqlClient, windows: readonly LoadedWindow[], isolate: boolean, outcome: BatchOutcome): Promise<void> {
    const { useCase, publisher, logger } = this.options;
    for (const loaded of windows) {
      if (isolate) await tx.query('SAVEPOINT one_window');
      // A window rolled back to its savepoint takes its callbacks with it.
      const committed = new AfterCommit();
      try {
        const eventWindow = this.eventWindow(loaded);
        const context: HandlerContext = {
          tx,
          logger,
          afterCommit: committed.add,
          publish: (event, payload, metadata) => publisher.publish(tx, event, payload, { ...causedBy(eventWindow), ...metadata }),
        };
        await useCase.handleWindow(eventWindow as never, context);
        if (isolate) await tx.query('RELEASE SAVEPOINT one_window');
        outcome.committed.adopt(committed);
        outcome.closed.push(loaded.window);
      } catch (error) {
        if (!isolate) throw new WindowFailed(error);
        await tx.query('ROLLBACK TO SAVEPOINT one_window');
        outcome.failed.push({ window: loaded.window, error });
      }
    }
  }

  private eventWindow({ window, events }: LoadedWindow): EventWindow<ReceivedEnvelope> {
    return { key: window.key, start: new Date(window.start), end: new Date(window.end), events: events.map((e) => this.revive(e)) };
  }

  private recordClosed(window: DueWindow): void {
    this.failing.delete(windowIdString(window));
    const delay = Date.now() - window.closeAt;
    this.emitDelays.samples.push(delay);
    if (this.emitDelays.samples.length > 100_000) this.emitDelays.samples.splice(0, 50_000);
    this.options.onClosed(window);
  }

  /** A failing window is retried with back-off; after the budget its events are dead-lettered. */
  private async handleFailure(window: DueWindow, error: unknown): Promise<void> {
    const { group, policy, logger, pool } = this.options;
    const id = windowIdString(window);
    const attempts = (this.failing.get(id)?.attempts ?? 0) + 1;
    const when = new Date(window.start).toISOString();
    if (isRetriable(error) && attempts < policy.maxAttempts) {
      const wait = backoffMs(policy, attempts + 1);
      logger.warn('window handler failed; retrying', { group, key: window.key, start: when, attempt: attempts, retryInMs: wait, ...errorFields(error) });
      this.failing.set(id, { id: { key: window.key, start: window.start }, attempts, notBefore: Date.now() + wait });
      this.schedule(Date.now() + wait);
      return;
    }
    // Dead-letter first, then mark: a crash in between dead-letters twice rather than never.
    const stored = await withTransaction(pool, async (tx) => (await eventsOfWindows(tx, group, [window])).get(id) ?? []);
    const events = stored.flatMap((e) => {
      try {
        return [this.revive(e)];
      } catch {
        return [];
      }
    });
    await this.options.deadLetterWindow(events, error, attempts);
    await withTransaction(pool, (tx) => markWindowsClosed(tx, group, [{ ...window, eventCount: stored.length }], true));
    logger.error('window dead-lettered', { group, key: window.key, start: when, events: events.length, attempts, ...errorFields(error) });
    this.recordClosed(window);
  }

  /** Staged events were validated when they were staged: typed again, not checked again. */
  private revive(stored: StoredEnvelope): ReceivedEnvelope {
    const event = (this.options.useCase.events as readonly EventClass[]).find((e) => e.contract.ceType === stored.type);
    if (!event) throw new Error(`window holds an event of type ${stored.type} that ${this.options.useCase.name} does not declare`);
    if (typeof stored.payload !== 'object' || stored.payload === null) throw new Error(`staged event ${stored.id} has no payload object`);
    return { ...stored, payload: instantiateEvent(event, stored.payload), event };
  }
}

/** What a window's result is caused by: the conversation of its first event, its last event. */
function causedBy(window: EventWindow<EventEnvelope>): { correlationId?: string; causationId?: string } {
  return { correlationId: window.events[0]?.correlationId, causationId: window.events[window.events.length - 1]?.id };
}
