import { reviveEnvelope } from '../consumer/use-case-events';
import type { ReceivedEnvelope } from '../envelope/envelope';
import { AfterCommit } from '../consumer/after-commit';
import { deadLetterInTransaction, messageOf, type DeadLetterFailure } from '../consumer/dead-letters';
import { failureVerdict, isRetryLater } from '../consumer/failure-verdict';
import { causedBy, type ConsumerRuntime } from '../consumer/handling';
import type { Span } from '@opentelemetry/api';
import { errorFields, errorMessage, secondsSince, traceparentOf, withLogContext, withOpenedTransaction, type SqlClient } from '@platform/core';
import { endSpan, startWindowSpan, TransactionSpans, withSpan } from '../tracing/messaging-spans';
import {
  closeAndLoadWindows,
  countDueWindows,
  dueWindows,
  lockDueWindowsStatement,
  markWindowsDeadLettered,
  pruneHandledWindows,
  pruneStagedEvents,
  retryWindowsLater,
  type DueWindow,
  type DueWindowRow,
  type StoredEnvelope,
  type WindowId,
} from './window-store';
import type { EventWindow, WindowBatchContext, WindowedUseCase } from './windowed-use-case';
import { deleteInBatches } from '../retention/delete-in-batches';

export interface WindowCloserOptions {
  /** The use case's consumer: its group, database, publisher, retry policy and dead-letter topic. */
  readonly runtime: ConsumerRuntime;
  readonly useCase: WindowedUseCase;
  /** Called after a window's result committed (or its events were dead-lettered). */
  readonly onClosed: (id: WindowId) => void;
  /** Runs before each closing round: brings this member's watermarks up to date. */
  readonly beforeClosing?: () => Promise<void>;
  /** True while windows this member waits for are past their close time but not handled. */
  readonly stillWaiting?: () => boolean;
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
  /** The process spans of the windows handled in this transaction: they end with it. */
  readonly spans: TransactionSpans;
  locked: number;
  closed: DueWindow[];
  /** Events of the windows in `closed`. */
  handledEvents: number;
  failed: { loaded: LoadedWindow; error: unknown }[];
  /** Failed windows open again, each with when it is due again. */
  retried: { window: DueWindow; retryAtMs: number }[];
  /** Failed windows given up on: their events went to the dead-letter topic with this transaction. */
  deadLettered: { window: DueWindow; failure: DeadLetterFailure; events: number }[];
}

/**
 * A window handler threw during an optimistic batch: redo the batch window by window. When the
 * window that threw is known (handleWindow), that call was its attempt: the redo counts it
 * without calling the handler again. A failing handleWindows call is nobody's attempt.
 */
class WindowFailed extends Error {
  constructor(
    readonly original: unknown,
    readonly window?: WindowId,
  ) {
    super('a window handler failed');
  }
}

function newOutcome(locked: number, closed: readonly DueWindow[]): BatchOutcome {
  return { committed: new AfterCommit(), spans: new TransactionSpans(), locked, closed: [...closed], handledEvents: 0, failed: [], retried: [], deadLettered: [] };
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
  /** When the closing round in progress began: a stall report names a round that never ends. */
  private closingSince?: number;
  private again = false;
  private readonly group: string;

  constructor(private readonly options: WindowCloserOptions) {
    this.group = options.runtime.groupId;
  }

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

  /** How long the closing round in progress has run, in ms (undefined when none runs). */
  get closingForMs(): number | undefined {
    return this.closingSince === undefined ? undefined : Date.now() - this.closingSince;
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
    const { group } = this;
    const { pool, logger } = this.options.runtime;
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
    this.closingSince = Date.now();
    this.closing = (async () => {
      do {
        this.again = false;
        const now = Date.now();
        for (const at of this.due) if (at <= now) this.due.delete(at);
        await this.options.beforeClosing?.().catch((error) => this.options.runtime.logger.debug('watermark refresh failed', errorFields(error)));
        await this.closeDueWindows(now);
      } while (this.again && this.running);
    })()
      .catch((error) => this.options.runtime.logger.error('window closing failed', { group: this.group, ...errorFields(error) }))
      .finally(() => {
        this.closing = undefined;
        this.closingSince = undefined;
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
    const due = await countDueWindows(this.options.runtime.pool, this.group, now, this.options.gateOnWatermarks);
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
   * Handles up to BATCH due windows in one transaction that locks them and marks them handled.
   * Optimistically first, all handlers straight through after one savepoint; if one throws, the
   * batch's effects are rolled back to that savepoint (the windows stay locked and marked by this
   * transaction: no other instance can take them meanwhile) and the batch is redone with a
   * savepoint per window, so the failing window alone is rolled back while the others commit.
   * A failing window is, in that same transaction and under its lock, either opened again with
   * its attempt counted and its next attempt's time, or given up on: its events are
   * dead-lettered through the outbox and it is marked so. Nothing is decided outside the
   * transaction that holds the window, so no window is both handled and dead-lettered.
   */
  private async closeBatch(now: number, limit: number): Promise<number> {
    const { useCase, runtime } = this.options;
    // The spans of the pass whose effects this transaction holds: they end with it.
    let pending: TransactionSpans | undefined;
    // The lock opens the transaction, in BEGIN's round trip.
    const opening = lockDueWindowsStatement(this.group, now, limit, this.options.gateOnWatermarks);
    const outcome = await withOpenedTransaction<BatchOutcome, DueWindowRow>(runtime.pool, opening, async (tx, opened) => {
      const locked = dueWindows(opened.rows);
      // Marked handled and loaded in one statement; the mark commits with the results.
      const windows = await closeAndLoadWindows(tx, this.group, locked);
      // Only a stager racing a prune can leave a window without events: closed, no handler call.
      const empty = windows.filter((w) => w.events.length === 0).map((w) => w.window);
      const toHandle = windows.filter((w) => w.events.length > 0);
      let outcome = newOutcome(locked.length, empty);
      pending = outcome.spans;
      if (toHandle.length > 0) {
        await tx.query('SAVEPOINT window_batch');
        try {
          if (useCase.handleWindows) await this.handleTogether(tx, toHandle, outcome);
          else await this.handleOneByOne(tx, toHandle, outcome);
        } catch (error) {
          if (!(error instanceof WindowFailed)) throw error;
          await tx.query('ROLLBACK TO SAVEPOINT window_batch');
          // The optimistic pass is undone: its windows' spans end as failed, the redo has its own.
          outcome.spans.end(error.original);
          outcome = newOutcome(locked.length, empty);
          pending = outcome.spans;
          await this.handleOneByOne(tx, toHandle, outcome, error);
        }
      }
      await this.settleFailures(tx, outcome);
      return outcome;
    }).catch((error: unknown) => {
      pending?.end(error);
      throw error;
    });
    outcome.spans.end();
    const { logger, metrics } = runtime;
    outcome.committed.run(logger);
    metrics.handled.inc(outcome.handledEvents);
    metrics.retried.inc(outcome.retried.length);
    for (const window of outcome.closed) this.recordClosed(window);
    for (const { retryAtMs } of outcome.retried) this.schedule(retryAtMs);
    for (const { window, failure, events } of outcome.deadLettered) {
      metrics.deadLetter(failure.reason, events);
      logger.error('window dead-lettered', { group: this.group, key: window.key, start: new Date(window.start).toISOString(), attempts: failure.attempts, reason: failure.reason, ...errorFields(failure.error) });
      this.recordClosed(window);
    }
    return outcome.locked;
  }

  /** Failed windows, rolled back to their savepoints and still locked: retry later, or dead-letter now. */
  private async settleFailures(tx: SqlClient, outcome: BatchOutcome): Promise<void> {
    const { runtime } = this.options;
    const retries: { id: WindowId; retryAtMs: number; counted: boolean; error: string }[] = [];
    const givenUp: { id: WindowId; attempts: number; error: string }[] = [];
    for (const { loaded, error } of outcome.failed) {
      const { window } = loaded;
      const verdict = failureVerdict(error, window.attempts + 1, runtime.policy, 1);
      if (isRetryLater(verdict)) {
        const retryAtMs = Date.now() + verdict.retryInMs;
        retries.push({ id: window, retryAtMs, counted: verdict.counted, error: errorMessage(error) });
        outcome.retried.push({ window, retryAtMs });
        runtime.logger.warn('window handler failed; retrying', {
          group: this.group, key: window.key, start: new Date(window.start).toISOString(), attempt: window.attempts + 1, retryInMs: verdict.retryInMs, ...errorFields(error),
        });
        continue;
      }
      await deadLetterInTransaction(tx, runtime.naming, runtime.deadLetterTopic, this.group, loaded.events.map(messageOf), verdict, runtime.deadLetterOptions);
      givenUp.push({ id: window, attempts: verdict.attempts, error: errorMessage(error) });
      outcome.deadLettered.push({ window, failure: verdict, events: loaded.events.length });
    }
    await retryWindowsLater(tx, this.group, retries);
    await markWindowsDeadLettered(tx, this.group, givenUp);
  }

  /** The whole batch in one handleWindows call; if it throws, the batch is redone window by window. */
  private async handleTogether(tx: SqlClient, windows: readonly LoadedWindow[], outcome: BatchOutcome): Promise<void> {
    const { useCase, runtime } = this.options;
    let eventWindows: EventWindow<ReceivedEnvelope>[];
    try {
      eventWindows = windows.map((w) => this.eventWindow(w));
    } catch (error) {
      throw new WindowFailed(error);
    }
    // A span per window, each linked to its events; what a window's results publish goes on in its trace.
    const traceparents = new Map<EventWindow<ReceivedEnvelope>, string | undefined>();
    for (const window of eventWindows) traceparents.set(window, traceparentOf(outcome.spans.add(startWindowSpan(this.group, window)), undefined));
    const context: WindowBatchContext = {
      tx,
      logger: runtime.logger,
      afterCommit: outcome.committed.add,
      publishAll: (items) =>
        runtime.publisher.publishAll(
          tx,
          items.map(({ window, ...pending }) => ({ ...pending, metadata: { ...causedBy(window.events as ReceivedEnvelope[], traceparents.get(window as EventWindow<ReceivedEnvelope>)), ...pending.metadata } })),
        ),
    };
    const started = performance.now();
    try {
      await useCase.handleWindows?.(eventWindows as never, context);
    } catch (error) {
      throw new WindowFailed(error);
    } finally {
      runtime.metrics.handlerDuration.observe(secondsSince(started));
    }
    for (const { window, events } of windows) {
      outcome.closed.push(window);
      outcome.handledEvents += events.length;
    }
  }

  /** handleWindow per window; isolated (after `failed`), each under a savepoint so a failing one is rolled back alone. */
  private async handleOneByOne(tx: SqlClient, windows: readonly LoadedWindow[], outcome: BatchOutcome, failed?: WindowFailed): Promise<void> {
    const { useCase, runtime } = this.options;
    const isolate = failed !== undefined;
    for (const loaded of windows) {
      if (failed?.window && failed.window.key === loaded.window.key && failed.window.start === loaded.window.start) {
        outcome.failed.push({ loaded, error: failed.original });
        continue;
      }
      if (isolate) await tx.query('SAVEPOINT one_window');
      // A window rolled back to its savepoint takes its callbacks with it.
      const committed = new AfterCommit();
      let span: Span | undefined;
      try {
        const eventWindow = this.eventWindow(loaded);
        const windowSpan = (span = startWindowSpan(this.group, eventWindow));
        const traceparent = traceparentOf(windowSpan, undefined);
        const handle = () => useCase.handleWindow(eventWindow as never, runtime.handlerContext(tx, eventWindow.events, committed, traceparent));
        const started = performance.now();
        try {
          // The handler's lines and what it publishes carry the window's trace, when its span is recorded.
          await withSpan(windowSpan, () => (traceparent ? withLogContext({ traceparent }, handle) : handle()));
        } finally {
          runtime.metrics.handlerDuration.observe(secondsSince(started));
        }
        if (isolate) await tx.query('RELEASE SAVEPOINT one_window');
        outcome.spans.add(windowSpan);
        span = undefined;
        outcome.committed.adopt(committed);
        outcome.closed.push(loaded.window);
        outcome.handledEvents += loaded.events.length;
      } catch (error) {
        if (span) endSpan(span, error);
        if (!isolate) throw new WindowFailed(error, loaded.window);
        await tx.query('ROLLBACK TO SAVEPOINT one_window');
        outcome.failed.push({ loaded, error });
      }
    }
  }

  private eventWindow({ window, events }: LoadedWindow): EventWindow<ReceivedEnvelope> {
    return { key: window.key, start: new Date(window.start), end: new Date(window.end), events: events.map((e) => this.revive(e)) };
  }

  private recordClosed(window: DueWindow): void {
    const delay = Date.now() - window.closeAt;
    this.options.runtime.metrics.windowEmitLateness.observe(Math.max(0, delay) / 1000);
    this.emitDelays.samples.push(delay);
    if (this.emitDelays.samples.length > 100_000) this.emitDelays.samples.splice(0, 50_000);
    this.options.onClosed(window);
  }

  /** Staged events were validated when they were staged: typed again, not checked again (unless staged as an older version). */
  private revive(stored: StoredEnvelope): ReceivedEnvelope {
    return reviveEnvelope(this.options.runtime.readableEvents, stored, `a window of ${this.options.useCase.name}`);
  }
}
