import { errorFields, errorMessage, withTransaction } from '@platform/core';
import { deadLetterInTransaction } from '../consumer/dead-letters';
import { failureVerdict, isRetryLater } from '../consumer/failure-verdict';
import type { ConsumerRuntime } from '../consumer/handling';
import { recordInInbox } from '../consumer/inbox';
import type { ReceivedEnvelope } from '../envelope/envelope';
import type { IncomingMessage } from '../kafka/broker';
import type { OutboxPublisher, PendingEvent } from '../outbox/publisher';
import type { Saga } from './saga';
import { HeldInstances } from './held-instances';
import { applyTimeout, type SagaStepContext } from './saga-step';
import { claimDueTimeouts, deleteTimeouts, instanceExists, lockDueTimeouts, lockInstance, nextDueAt, retryTimeoutLater, SagaWriteBatch, type DueTimeout } from './saga-store';

/** Timeouts fired per transaction, their writes one statement of each kind. */
const BATCH = 250;
/** Timeouts fired per transaction after a batch failed: each under its own savepoint, so one failure stays its own. */
const ONE_BY_ONE = 50;
/**
 * Firing transactions at once, per process: while one waits for the database, the other's steps
 * run; SKIP LOCKED gives them different timeouts. The second starts when a batch finds more than
 * one due, and stops when it finds none.
 */
const FIRING_LOOPS = 2;
/**
 * When a due timeout's instance is held by a message's transaction: look at that instance again
 * this much later, twice as late each time it is still held, at most the poll interval.
 */
const HELD_FIRST_RETRY_MS = 20;

/** Where a timeout is said to come from in the inbox and in dead letters. */
export const TIMEOUT_TOPIC = '$saga-timeout';

/**
 * Fires a saga's due timeouts, once each, through the same inbox path as its messages: any
 * instance of the service may fire any timeout (FOR UPDATE SKIP LOCKED); a timer wakes it at
 * the earliest due time it knows (its own schedules, the table's earliest), and a slow poll
 * catches what other instances scheduled. A timeout whose handling fails is retried with
 * back-off and dead-lettered after the budget, like a message, never left stuck.
 */
export class TimeoutFirer {
  private running = false;
  private timer?: NodeJS.Timeout;
  private wakeAt = Infinity;
  private readonly loops = new Set<Promise<void>>();
  /** Woken while loops ran: one of them may have looked just before the timeout committed. */
  private again = false;
  /** The wait for the next due time after the loops ended (stop() waits for it too). */
  private resting?: Promise<void>;
  private readonly held: HeldInstances;

  constructor(
    private readonly runtime: ConsumerRuntime,
    private readonly saga: Saga,
    private readonly pollIntervalMs = 1000,
  ) {
    this.held = new HeldInstances(HELD_FIRST_RETRY_MS, pollIntervalMs);
  }

  /** Counted once a firing transaction committed: timeouts fired, and how late. */
  private get metrics() {
    return this.runtime.metrics.saga;
  }

  start(): void {
    this.running = true;
    this.kick();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    while (this.loops.size > 0 || this.resting) await Promise.all([...this.loops, this.resting]);
  }

  /** A timeout due at `atMs` was committed: make sure the timer goes off then. */
  wake(atMs: number): void {
    if (!this.running || atMs >= this.wakeAt) return;
    this.arm(atMs);
  }

  private arm(atMs: number): void {
    clearTimeout(this.timer);
    this.wakeAt = atMs;
    // Never past the poll: a due time weeks ahead would overflow the timer and fire at once.
    this.timer = setTimeout(() => this.kick(), Math.min(Math.max(0, atMs - Date.now()), this.pollIntervalMs));
  }

  private kick(): void {
    if (!this.running) return;
    this.wakeAt = Infinity;
    if (this.loops.size > 0) this.again = true;
    else this.spawn();
  }

  /**
   * A loop of firing transactions, until one finds nothing due. A loop that found more than one
   * starts the others: a second loop that ended when it found nothing, while the first was busy,
   * would otherwise leave a burst to one transaction at a time.
   */
  private spawn(): void {
    const loop = (async () => {
      while (this.running) {
        const taken = await this.fireBatch();
        if (taken === 0) return;
        if (taken > 1) while (this.loops.size < FIRING_LOOPS) this.spawn();
      }
    })()
      .catch((error) => this.runtime.logger.warn('firing saga timeouts failed; trying again', { group: this.runtime.groupId, ...errorFields(error) }))
      .finally(() => {
        this.loops.delete(loop);
        if (this.loops.size === 0) this.rest();
      });
    this.loops.add(loop);
  }

  /**
   * The loops ended: again at once if woken meanwhile, else at the next due time (of an instance
   * not backing off: a held one's is past, and would wake the firer at once), the end of the
   * first back-off, or the poll.
   */
  private rest(): void {
    if (!this.running) return;
    if (this.again) {
      this.again = false;
      this.spawn();
      return;
    }
    const now = Date.now();
    this.resting = nextDueAt(this.runtime.pool, this.runtime.groupId, this.held.skipped(now))
      .catch(() => undefined)
      .then((next) => {
        this.resting = undefined;
        if (this.running) this.arm(Math.min(next ?? Infinity, this.held.nextEnd(now) ?? Infinity, Date.now() + this.pollIntervalMs, this.wakeAt));
      });
  }

  /** One transaction firing due timeouts; returns how many it took. A batch that fails is fired again one by one. */
  private async fireBatch(): Promise<number> {
    try {
      return await this.fireTogether();
    } catch (error) {
      this.runtime.logger.debug('a batch of saga timeouts failed; firing them one by one', { group: this.runtime.groupId, ...errorFields(error) });
      return this.fireOneByOne();
    }
  }

  /**
   * Up to BATCH due timeouts whose instances no message holds, at most one per instance, in one
   * transaction of four round trips: BEGIN; one statement that takes them (locked, deleted,
   * recorded in the inbox) with their locked instances; the steps run on a SagaWriteBatch; one
   * statement that writes what they decided and sent; COMMIT.
   */
  private async fireTogether(): Promise<number> {
    const { runtime, saga } = this;
    const group = runtime.groupId;
    const scheduled: number[] = [];
    const dueTimes: number[] = [];
    const firedKeys: string[] = [];
    const taken = await withTransaction(runtime.pool, async (tx) => {
      dueTimes.length = 0;
      firedKeys.length = 0;
      const claimed = await claimDueTimeouts(tx, group, BATCH, TIMEOUT_TOPIC, this.held.skipped(Date.now()));
      const writes = new SagaWriteBatch(group);
      const messages: PendingEvent[] = [];
      const context: SagaStepContext = { tx: writes, group, saga, publisher: collecting(runtime.publisher, messages), logger: runtime.logger, scheduled };
      for (const timeout of claimed) {
        // Its instance is held by a message's transaction: fired once that is done, on its new state.
        if (!timeout.firing) scheduled.push(this.held.held(timeout.key, Date.now()));
        else if (timeout.fresh) {
          await applyTimeout(context, timeout.key, timeout.instance, timeout.name, timeout.data);
          dueTimes.push(timeout.dueAtMs);
        }
        if (timeout.firing) firedKeys.push(timeout.key);
      }
      if (firedKeys.length > 0) await writes.flush(tx, runtime.publisher.outboxColumns(messages));
      return firedKeys.length;
    });
    for (const key of firedKeys) this.held.fired(key);
    this.metrics.fired(dueTimes);
    for (const at of scheduled) this.wake(at);
    return taken;
  }

  /** Up to ONE_BY_ONE due timeouts, each under its own savepoint: one that fails is retried or dead-lettered alone. */
  private async fireOneByOne(): Promise<number> {
    const { runtime, saga } = this;
    const scheduled: number[] = [];
    const dueTimes: number[] = [];
    const firedKeys: string[] = [];
    const taken = await withTransaction(runtime.pool, async (tx) => {
      dueTimes.length = 0;
      firedKeys.length = 0;
      const due = await lockDueTimeouts(tx, runtime.groupId, ONE_BY_ONE, this.held.skipped(Date.now()));
      let fired = 0;
      for (const timeout of due) {
        await tx.query('SAVEPOINT one_timeout');
        const context: SagaStepContext = { tx, group: runtime.groupId, saga, publisher: runtime.publisher, logger: runtime.logger, scheduled: [] };
        try {
          const instance = await lockInstance(tx, runtime.groupId, timeout.key, true);
          // Held by a message's transaction right now: fire it once that is done, not wait for it under our locks.
          if (!instance && (await instanceExists(tx, runtime.groupId, timeout.key))) {
            await tx.query('ROLLBACK TO SAVEPOINT one_timeout');
            scheduled.push(this.held.held(timeout.key, Date.now()));
            continue;
          }
          await deleteTimeouts(tx, [timeout.id]);
          if (await recordInInbox(tx, runtime.groupId, inboxEntry(timeout))) {
            await applyTimeout(context, timeout.key, instance, timeout.name, timeout.data);
            dueTimes.push(timeout.dueAtMs);
          }
          await tx.query('RELEASE SAVEPOINT one_timeout');
          scheduled.push(...context.scheduled);
          firedKeys.push(timeout.key);
          fired += 1;
        } catch (error) {
          await tx.query('ROLLBACK TO SAVEPOINT one_timeout');
          await this.failed(tx, timeout, error);
          fired += 1;
        }
      }
      return fired;
    });
    for (const key of firedKeys) this.held.fired(key);
    this.metrics.fired(dueTimes);
    for (const at of scheduled) this.wake(at);
    return taken;
  }

  /** Retry later, or dead-letter now (through the outbox, with the timeout's row gone in the same transaction). */
  private async failed(tx: Parameters<typeof deleteTimeouts>[0], timeout: DueTimeout, error: unknown): Promise<void> {
    const { runtime } = this;
    const verdict = failureVerdict(error, timeout.attempts + 1, runtime.policy, 1);
    if (isRetryLater(verdict)) {
      runtime.logger.warn('saga timeout failed; retrying', { group: runtime.groupId, key: timeout.key, name: timeout.name, attempt: timeout.attempts + 1, ...errorFields(error) });
      await retryTimeoutLater(tx, timeout.id, Date.now() + verdict.retryInMs, verdict.counted, errorMessage(error));
      return;
    }
    const message: IncomingMessage = {
      topic: TIMEOUT_TOPIC,
      partition: -1,
      offset: '0',
      key: timeout.key,
      value: Buffer.from(JSON.stringify({ name: timeout.name, data: timeout.data })),
      headers: { 'saga_timeout_id': timeout.id, 'saga_timeout_name': timeout.name, 'saga_instance': timeout.key },
      timestamp: Date.now(),
    };
    await deadLetterInTransaction(tx, runtime.naming, runtime.deadLetterTopic, runtime.groupId, [message], verdict, runtime.deadLetterOptions);
    await deleteTimeouts(tx, [timeout.id]);
    runtime.logger.error('saga timeout dead-lettered', { group: runtime.groupId, key: timeout.key, name: timeout.name, reason: verdict.reason, ...errorFields(error) });
  }
}

/** A timeout in the inbox: its id, from where no topic is. */
const inboxEntry = (timeout: DueTimeout): ReceivedEnvelope => ({ id: timeout.id, topic: TIMEOUT_TOPIC, partition: -1, offset: '0' }) as ReceivedEnvelope;

/** The publisher a batch's steps see: what they send is kept, and written with the batch's other writes in one statement. */
function collecting(publisher: OutboxPublisher, into: PendingEvent[]): OutboxPublisher {
  const kept = Object.create(publisher) as OutboxPublisher;
  kept.publishAll = async (_tx, events) => {
    into.push(...events);
    return [];
  };
  return kept;
}
