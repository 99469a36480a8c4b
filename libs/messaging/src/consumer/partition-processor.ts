import type { IncomingMessage, PartitionBatch } from '../kafka/broker';
import { errorFields, type CounterHandle, type Logger } from '@platform/core';
import type { DeadLetterFailure } from './dead-letters';
import { failureVerdict, isRetryLater } from './failure-verdict';
import { bufferedBytes, type BufferBudget } from './buffer-budget';
import { OffsetTracker } from './offset-tracker';
import type { RetryPolicy } from './retry-policy';

export interface PartitionProcessorOptions {
  readonly group: string;
  /** Handles one message; throws when it failed. Must be idempotent (the inbox makes it so). */
  readonly handle: (message: IncomingMessage) => Promise<void>;
  /** Handles several messages atomically (all or nothing); optional, for fewer commits. */
  readonly handleTogether?: (messages: readonly IncomingMessage[]) => Promise<void>;
  /** Most messages handled together in one transaction. */
  readonly maxPerTransaction?: number;
  readonly deadLetter: (message: IncomingMessage, failure: DeadLetterFailure) => Promise<void>;
  /** Commits the next offset to read; false when Kafka refused (it is tried again later). */
  readonly commit: (offset: string) => Promise<boolean>;
  readonly policy: RetryPolicy;
  readonly logger: Logger;
  /** Messages waiting behind parked keys before fetching this partition pauses. */
  readonly maxParked?: number;
  /** Messages fetched but not handled yet before fetching this partition pauses. */
  readonly maxBuffered?: number;
  /** Shared by the process's processors: over it, a partition with unhandled messages pauses too. */
  readonly budget?: BufferBudget;
  /**
   * How long a finished offset may wait before it is committed; commits in between are folded
   * into one. A commit lost to a crash only means redeliveries, which the inbox absorbs.
   */
  readonly commitIntervalMs?: number;
  /** Counts each failed attempt that will be retried (budgeted or an outage). */
  readonly retries?: CounterHandle;
  /**
   * Transactions of this partition that may run at once, each on keys none of the others holds
   * (default 1: one after the other). More lets an event of another key go while a transaction
   * waits on the database, instead of queueing behind it; order per key is kept.
   */
  readonly concurrency?: number;
}

/** Defaults: about one fetch of 1 KiB events per partition, and ten commits a second at most. */
export const DEFAULT_MAX_BUFFERED = 100;
export const DEFAULT_COMMIT_INTERVAL_MS = 100;
/**
 * A refused commit (the coordinator moving, the broker restarting) is tried again after this
 * long: otherwise a partition whose traffic stopped keeps its last commit forever, and its lag
 * never drains although every event was handled.
 */
export const COMMIT_RETRY_MS = 1000;

interface Buffered {
  readonly message: IncomingMessage;
  /** Its share of the buffer budget. */
  readonly bytes: number;
  /**
   * Whether the fetch it came with is stale (the partition sought, the group rebalanced). Not
   * the batch itself: a message waiting here would keep every message of its batch alive, and a
   * partition that always has a few buffered kept a whole fetch (20 groups catching up: ~20,000
   * handled messages held).
   */
  readonly isStale: () => boolean;
}

interface Parked {
  readonly message: IncomingMessage;
  /** Attempts that spent the retry budget. */
  attempts: number;
  /** Consecutive attempts that met an outage (not budgeted). */
  outages: number;
  /** Set when the event was given up on but the dead-letter topic could not be written yet. */
  deadLetter?: DeadLetterFailure;
}

interface Lane {
  readonly key: string;
  readonly queue: Parked[];
  timer?: NodeJS.Timeout;
  running: boolean;
}

const keyOf = (message: IncomingMessage): string => message.key ?? '';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Processes one partition for one use case. Messages are handled in offset order per key: up to
 * `concurrency` transactions run at once, each on keys no other one holds, and an event of a held
 * key waits for its key's transaction. A key whose event fails is parked: its event is retried
 * with back-off while later events of that key queue behind it and events of other keys go on.
 * After the retry budget, or at once for poison and non-retriable failures, the event goes to
 * the dead-letter topic and the key moves on. The committed offset never passes an event
 * that is not finished.
 *
 * Fetching and handling are decoupled: a fetched batch joins this partition's buffer and the
 * fetch loop goes on, so one partition's slow transaction does not hold up the next fetch of
 * the others; what arrives while a transaction runs is handled together in the next one.
 */
export class PartitionProcessor {
  private readonly tracker = new OffsetTracker();
  private readonly lanes = new Map<string, Lane>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private buffer: Buffered[] = [];
  /** The runs in flight: each one transaction's worth of messages (or those messages one by one). */
  private readonly runs = new Set<Promise<void>>();
  /** Messages of the runs in flight. */
  private runningMessages = 0;
  /** Keys a run in flight holds, with how many of its messages: their later messages wait. */
  private readonly heldKeys = new Map<string, number>();
  /** Resolved (and replaced) whenever the drain loop finishes a run or stops. */
  private progress = deferred();
  private parkedCount = 0;
  private stopped = false;
  private committing?: Promise<void>;
  private commitAgain = false;
  private commitTimer?: NodeJS.Timeout;
  private lastCommitted?: string;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly options: PartitionProcessorOptions,
  ) {}

  get parked(): number {
    return this.parkedCount;
  }

  /** Fetched messages not handled yet (the buffer; parked ones are counted by `parked`). */
  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * Takes a fetched batch into the buffer and resolves with its last offset, at once unless the
   * partition already holds too much unfinished work (then it waits, heart-beating, so the
   * fetch of this partition pauses). Resolves with undefined when nothing was taken.
   */
  async take(batch: PartitionBatch): Promise<string | undefined> {
    if (batch.messages.length === 0 || this.stopped || !batch.isRunning() || batch.isStale()) return undefined;
    const isStale = batch.isStale;
    for (const message of batch.messages) {
      const bytes = bufferedBytes(message);
      this.buffer.push({ message, bytes, isStale });
      this.options.budget?.hold(bytes);
      // Tracked from here: a run may take later messages past it, and the commit must not pass it.
      this.tracker.add(message.offset);
    }
    const last = batch.messages[batch.messages.length - 1].offset;
    this.drain();
    const maxBuffered = this.options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    const maxParked = this.options.maxParked ?? 1000;
    const full = () => this.buffer.length >= maxBuffered || this.parkedCount >= maxParked || (this.buffer.length > 0 && this.options.budget?.exhausted === true);
    while (full() && !this.stopped && batch.isRunning() && !batch.isStale()) {
      await this.progressOrTimeout(1000);
      await batch.heartbeat().catch(() => undefined);
    }
    return last;
  }

  /** Resolves once every buffered message has been handled, parked or dead-lettered, and that is committed. */
  async flush(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs]);
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    await this.commit();
  }

  /**
   * Starts runs while there is buffered work whose keys no run holds, up to the concurrency, and
   * only while the runs in flight are short of a transaction's worth together: a partition
   * catching up fills one transaction per run already, and more runs of full transactions would
   * only hold more messages and connections (20 use cases catching up: +89 MB instead of +63).
   */
  private drain(): void {
    const concurrency = this.options.concurrency ?? 1;
    const enough = Math.max(this.runLimit(), concurrency);
    while (!this.stopped && this.runs.size < concurrency && (this.runs.size === 0 || this.runningMessages < enough)) {
      const run = this.nextRun();
      if (run.length === 0) return;
      this.runningMessages += run.length;
      for (const message of run) this.heldKeys.set(keyOf(message), (this.heldKeys.get(keyOf(message)) ?? 0) + 1);
      const running: Promise<void> = this.handleRun(run)
        .catch((error) => this.options.logger.error('partition processing failed', { group: this.options.group, partition: this.partition, ...errorFields(error) }))
        .finally(() => {
          this.runs.delete(running);
          this.runningMessages -= run.length;
          for (const message of run) {
            const held = (this.heldKeys.get(keyOf(message)) ?? 1) - 1;
            if (held === 0) this.heldKeys.delete(keyOf(message));
            else this.heldKeys.set(keyOf(message), held);
          }
          this.signalProgress();
          this.commitSoon();
          this.drain();
        });
      this.runs.add(running);
    }
  }

  /** One run: in one transaction, or one by one when that failed (failures isolated, retried and parked as usual). */
  private async handleRun(run: readonly IncomingMessage[]): Promise<void> {
    if (!(run.length > 1 && (await this.attemptTogether(run)))) {
      for (const message of run) await this.takeOne(message);
    }
  }

  /**
   * Takes the next run out of the buffer, in offset order: at most one transaction's worth of
   * messages whose keys no run in flight holds. A message of a parked key joins its key's queue
   * instead, and one of a held key stays for a later run (and so do its key's later messages,
   * since the key stays held).
   */
  private nextRun(): IncomingMessage[] {
    // Fetched before a rebalance or seek: whoever holds the partition now reads them again.
    if (this.buffer.some((b) => b.isStale())) {
      const stale = this.buffer.filter((b) => b.isStale());
      this.releaseBuffered(stale);
      for (const b of stale) this.tracker.discard(b.message.offset);
      this.buffer = this.buffer.filter((b) => !b.isStale());
    }
    const limit = this.runLimit();
    const run: IncomingMessage[] = [];
    const taken: Buffered[] = [];
    for (const entry of this.buffer) {
      if (run.length >= limit) break;
      const key = keyOf(entry.message);
      if (this.heldKeys.has(key)) continue;
      const lane = this.lanes.get(key);
      if (lane) {
        lane.queue.push({ message: entry.message, attempts: 0, outages: 0 });
        this.parkedCount += 1;
      } else run.push(entry.message);
      taken.push(entry);
    }
    if (taken.length > 0) {
      const gone = new Set(taken);
      this.buffer = this.buffer.filter((b) => !gone.has(b));
      this.releaseBuffered(taken);
      this.signalProgress();
    }
    return run;
  }

  /** Most messages in one run: one transaction's worth. */
  private runLimit(): number {
    return this.options.handleTogether ? (this.options.maxPerTransaction ?? 1) : 1;
  }

  private releaseBuffered(entries: readonly Buffered[]): void {
    this.options.budget?.release(entries.reduce((n, b) => n + b.bytes, 0));
  }

  private signalProgress(): void {
    this.progress.resolve();
    this.progress = deferred();
  }

  private async progressOrTimeout(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.progress.promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** One message: queued behind its parked key, or attempted now (and parked if it fails). */
  private async takeOne(message: IncomingMessage): Promise<void> {
    const key = keyOf(message);
    const lane = this.lanes.get(key);
    if (lane) {
      lane.queue.push({ message, attempts: 0, outages: 0 });
      this.parkedCount += 1;
      return;
    }
    const item: Parked = { message, attempts: 0, outages: 0 };
    const retry = await this.attempt(item, key);
    if (retry) this.park(item, key, retry.retryInMs);
  }

  /**
   * Optimistically handles a run of messages in one transaction (one commit instead of many).
   * False when anything in it failed: nothing of it was committed, and the caller takes the
   * messages one by one, so failures are isolated, retried and parked as usual.
   */
  private async attemptTogether(run: readonly IncomingMessage[]): Promise<boolean> {
    const handleTogether = this.options.handleTogether;
    if (!handleTogether) return false;
    const handling = handleTogether(run);
    this.inFlight.add(handling);
    try {
      await handling;
      for (const message of run) this.tracker.done(message.offset);
      return true;
    } catch {
      return false;
    } finally {
      this.inFlight.delete(handling);
    }
  }

  /**
   * Stops taking work and retrying parked keys (their events stay uncommitted and are handed
   * to whoever gets the partition next); waits up to `deadlineMs` for handlers in flight.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    // Buffered messages are handed back: uncommitted, they go to whoever reads the partition next.
    this.releaseBuffered(this.buffer);
    this.buffer = [];
    this.signalProgress();
    clearTimeout(this.commitTimer);
    for (const lane of this.lanes.values()) clearTimeout(lane.timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    clearTimeout(timer);
    await this.commit().catch(() => undefined);
  }

  /**
   * One attempt at an event. On failure the event is dead-lettered (poison, non-retriable, or
   * out of attempts) or handed back with the back-off before its next attempt.
   */
  private async attempt(item: Parked, key: string): Promise<{ retryInMs: number } | undefined> {
    if (item.deadLetter) return this.tryDeadLetter(item, item.deadLetter);
    item.attempts += 1;
    const handling = this.options.handle(item.message);
    this.inFlight.add(handling);
    try {
      await handling;
      this.tracker.done(item.message.offset);
      return undefined;
    } catch (error) {
      const verdict = failureVerdict(error, item.attempts, this.options.policy, item.outages + 1);
      if (!isRetryLater(verdict)) return this.tryDeadLetter(item, verdict);
      this.options.retries?.inc();
      if (verdict.counted) item.outages = 0;
      else {
        item.attempts -= 1;
        item.outages += 1;
      }
      this.options.logger.warn(verdict.counted ? 'handler failed; its key is parked until a retry succeeds' : 'handler met an outage; its key is parked until it is over', {
        group: this.options.group,
        topic: this.topic,
        partition: this.partition,
        offset: item.message.offset,
        key,
        attempt: item.attempts,
        retryInMs: verdict.retryInMs,
        ...errorFields(error),
      });
      return { retryInMs: verdict.retryInMs };
    } finally {
      this.inFlight.delete(handling);
    }
  }

  /** While the dead-letter topic cannot be written (Kafka away) the event stays parked: never lost. */
  private async tryDeadLetter(item: Parked, failure: DeadLetterFailure): Promise<{ retryInMs: number } | undefined> {
    try {
      await this.options.deadLetter(item.message, failure);
      item.deadLetter = undefined;
      this.tracker.done(item.message.offset);
      return undefined;
    } catch (error) {
      item.deadLetter = failure;
      this.options.logger.error('could not write the dead-letter topic; the event stays parked', {
        group: this.options.group,
        offset: item.message.offset,
        ...errorFields(error),
      });
      return { retryInMs: this.options.policy.maxBackoffMs };
    }
  }

  private park(item: Parked, key: string, delayMs: number): void {
    const lane: Lane = { key, queue: [item], running: false };
    this.lanes.set(key, lane);
    this.parkedCount += 1;
    this.schedule(lane, delayMs);
  }

  private schedule(lane: Lane, delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(lane.timer);
    lane.timer = setTimeout(() => void this.drainLane(lane), delayMs);
  }

  /** Works through a parked key's queue in order until it is empty or its head fails again. */
  private async drainLane(lane: Lane): Promise<void> {
    if (lane.running || this.stopped) return;
    lane.running = true;
    try {
      while (!this.stopped && lane.queue.length > 0) {
        const retry = await this.attempt(lane.queue[0], lane.key);
        if (retry) {
          this.schedule(lane, retry.retryInMs);
          return;
        }
        lane.queue.shift();
        this.parkedCount -= 1;
        this.signalProgress();
        this.commitSoon();
      }
      if (lane.queue.length === 0) this.lanes.delete(lane.key);
    } finally {
      lane.running = false;
    }
  }

  /** Commits within the commit interval (or `delayMs`): everything finished until then goes in one commit. */
  private commitSoon(delayMs = this.options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS): void {
    if (this.commitTimer || this.stopped) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      void this.commit().catch((error) => this.options.logger.debug('offset commit failed', { group: this.options.group, ...errorFields(error) }));
    }, delayMs);
  }

  /** Commits the tracker's position; calls overlapping a commit in progress are folded into one more. */
  private async commit(): Promise<void> {
    if (this.committing) {
      this.commitAgain = true;
      return this.committing;
    }
    this.committing = (async () => {
      do {
        this.commitAgain = false;
        const offset = this.tracker.committable();
        if (offset !== undefined && offset !== this.lastCommitted) {
          if (await this.options.commit(offset)) this.lastCommitted = offset;
          else this.commitSoon(Math.max(COMMIT_RETRY_MS, this.options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS));
        }
      } while (this.commitAgain);
    })();
    try {
      await this.committing;
    } finally {
      this.committing = undefined;
    }
  }
}
