import type { IncomingMessage, PartitionBatch } from '../kafka/broker';
import { errorFields, type Logger } from '@platform/core';
import type { DeadLetterFailure } from './dead-letters';
import { isRetriable } from './error-classification';
import { OffsetTracker } from './offset-tracker';
import { backoffMs, type RetryPolicy } from './retry-policy';

export interface PartitionProcessorOptions {
  readonly group: string;
  /** Handles one message; throws when it failed. Must be idempotent (the inbox makes it so). */
  readonly handle: (message: IncomingMessage) => Promise<void>;
  /** Handles several messages atomically (all or nothing); optional, for fewer commits. */
  readonly handleTogether?: (messages: readonly IncomingMessage[]) => Promise<void>;
  /** Most messages handled together in one transaction. */
  readonly maxPerTransaction?: number;
  /** Errors that make a message unusable no matter how often it is tried (bad payload). */
  readonly isPoison: (error: unknown) => boolean;
  readonly deadLetter: (message: IncomingMessage, failure: DeadLetterFailure) => Promise<void>;
  readonly commit: (offset: string) => Promise<void>;
  readonly policy: RetryPolicy;
  readonly logger: Logger;
  /** Messages waiting behind parked keys before fetching this partition pauses. */
  readonly maxParked?: number;
}

interface Parked {
  readonly message: IncomingMessage;
  attempts: number;
  /** Set when the event was given up on but the dead-letter topic could not be written yet. */
  deadLetter?: DeadLetterFailure;
}

interface Lane {
  readonly key: string;
  readonly queue: Parked[];
  timer?: NodeJS.Timeout;
  running: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Processes one partition for one use case. Messages are handled in offset order, except
 * that a key whose event fails is parked: its event is retried with back-off while later
 * events of that key queue behind it (order per key is kept) and events of other keys go on.
 * After the retry budget, or at once for poison and non-retriable failures, the event goes to
 * the dead-letter topic and the key moves on. The committed offset never passes an event
 * that is not finished.
 */
export class PartitionProcessor {
  private readonly tracker = new OffsetTracker();
  private readonly lanes = new Map<string, Lane>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private parkedCount = 0;
  private stopped = false;
  private committing?: Promise<void>;
  private commitAgain = false;
  private lastCommitted?: string;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly options: PartitionProcessorOptions,
  ) {}

  get parked(): number {
    return this.parkedCount;
  }

  /** Takes a fetched batch; resolves with the last offset taken (handled, parked or dead-lettered). */
  async take(batch: PartitionBatch): Promise<string | undefined> {
    let taken: string | undefined;
    let lastHeartbeat = Date.now();
    const messages = batch.messages;
    for (let i = 0; i < messages.length; ) {
      if (this.stopped || !batch.isRunning() || batch.isStale()) break;
      while (this.parkedCount >= (this.options.maxParked ?? 1000) && !this.stopped && batch.isRunning()) {
        await batch.heartbeat();
        await sleep(100);
      }
      if (this.stopped || !batch.isRunning()) break;
      const run = this.runFrom(messages, i);
      const group = run.length > 0 ? run : [messages[i]];
      for (const message of group) this.tracker.add(message.offset);
      if (!(group.length > 1 && (await this.attemptTogether(group)))) {
        for (const message of group) await this.takeOne(message);
      }
      i += group.length;
      taken = messages[i - 1].offset;
      if (Date.now() - lastHeartbeat > 1000) {
        await batch.heartbeat();
        lastHeartbeat = Date.now();
      }
    }
    // Not awaited: the next fetch need not wait for the broker to store offsets (a lost commit
    // only means redeliveries, which the inbox absorbs); commits in flight are folded, and
    // stop() waits for the last one.
    void this.commit().catch((error) => this.options.logger.debug('offset commit failed', { group: this.options.group, ...errorFields(error) }));
    return taken;
  }

  /** Consecutive messages from `start` whose keys are not parked, at most one transaction's worth. */
  private runFrom(messages: readonly IncomingMessage[], start: number): IncomingMessage[] {
    const limit = this.options.handleTogether ? (this.options.maxPerTransaction ?? 1) : 1;
    const run: IncomingMessage[] = [];
    for (let i = start; i < messages.length && run.length < limit; i++) {
      if (this.lanes.has(messages[i].key ?? '')) break;
      run.push(messages[i]);
    }
    return run;
  }

  /** One message: queued behind its parked key, or attempted now (and parked if it fails). */
  private async takeOne(message: IncomingMessage): Promise<void> {
    const key = message.key ?? '';
    const lane = this.lanes.get(key);
    if (lane) {
      lane.queue.push({ message, attempts: 0 });
      this.parkedCount += 1;
      return;
    }
    const item: Parked = { message, attempts: 0 };
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
      const failure = this.classify(item, error);
      if (failure) return this.tryDeadLetter(item, failure);
      this.options.logger.warn('handler failed; its key is parked until a retry succeeds', {
        group: this.options.group,
        topic: this.topic,
        partition: this.partition,
        offset: item.message.offset,
        key,
        attempt: item.attempts,
        ...errorFields(error),
      });
      return { retryInMs: backoffMs(this.options.policy, item.attempts + 1) };
    } finally {
      this.inFlight.delete(handling);
    }
  }

  private classify(item: Parked, error: unknown): DeadLetterFailure | undefined {
    if (this.options.isPoison(error)) return { reason: 'invalid-payload', error, attempts: item.attempts };
    if (!isRetriable(error)) return { reason: 'non-retriable', error, attempts: item.attempts };
    if (item.attempts >= this.options.policy.maxAttempts) return { reason: 'retries-exhausted', error, attempts: item.attempts };
    return undefined;
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
        await this.commit().catch(() => undefined);
      }
      if (lane.queue.length === 0) this.lanes.delete(lane.key);
    } finally {
      lane.running = false;
    }
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
          await this.options.commit(offset);
          this.lastCommitted = offset;
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
