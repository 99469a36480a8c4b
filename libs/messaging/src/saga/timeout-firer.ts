import { errorFields, errorMessage, withTransaction } from '@platform/core';
import { deadLetterInTransaction } from '../consumer/dead-letters';
import { failureVerdict, isRetryLater } from '../consumer/failure-verdict';
import type { ConsumerRuntime } from '../consumer/handling';
import { recordInInbox } from '../consumer/inbox';
import type { IncomingMessage } from '../kafka/broker';
import type { Saga } from './saga';
import { applyTimeout, type SagaStepContext } from './saga-step';
import { deleteTimeout, instanceExists, lockDueTimeouts, lockInstance, nextDueAt, retryTimeoutLater, type DueTimeout } from './saga-store';

/** Timeouts fired per transaction; each under its own savepoint. */
const BATCH = 50;

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
  private firing?: Promise<void>;
  private again = false;

  constructor(
    private readonly runtime: ConsumerRuntime,
    private readonly saga: Saga,
    private readonly pollIntervalMs = 1000,
  ) {}

  start(): void {
    this.running = true;
    this.kick();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.firing;
  }

  /** A timeout due at `atMs` was committed: make sure the timer goes off then. */
  wake(atMs: number): void {
    if (!this.running || atMs >= this.wakeAt) return;
    this.arm(atMs);
  }

  private arm(atMs: number): void {
    clearTimeout(this.timer);
    this.wakeAt = atMs;
    this.timer = setTimeout(() => this.kick(), Math.max(0, atMs - Date.now()));
  }

  private kick(): void {
    if (!this.running) return;
    if (this.firing) {
      this.again = true;
      return;
    }
    this.wakeAt = Infinity;
    this.firing = (async () => {
      do {
        this.again = false;
        while (this.running && (await this.fireBatch()) > 0);
      } while (this.again && this.running);
    })()
      .catch((error) => this.runtime.logger.warn('firing saga timeouts failed; trying again', { group: this.runtime.groupId, ...errorFields(error) }))
      .then(async () => {
        const next = await nextDueAt(this.runtime.pool, this.runtime.groupId).catch(() => undefined);
        return Math.min(next ?? Infinity, Date.now() + this.pollIntervalMs);
      })
      .then((at) => {
        this.firing = undefined;
        if (this.running) this.arm(Math.min(at, this.wakeAt));
      });
  }

  /** One transaction firing up to BATCH due timeouts; returns how many it took. */
  private async fireBatch(): Promise<number> {
    const { runtime, saga } = this;
    const scheduled: number[] = [];
    const taken = await withTransaction(runtime.pool, async (tx) => {
      const due = await lockDueTimeouts(tx, runtime.groupId, BATCH);
      let fired = 0;
      for (const timeout of due) {
        await tx.query('SAVEPOINT one_timeout');
        const context: SagaStepContext = { tx, group: runtime.groupId, saga, publisher: runtime.publisher, logger: runtime.logger, scheduled: [] };
        try {
          const instance = await lockInstance(tx, runtime.groupId, timeout.key, true);
          // Held by a message's transaction right now: fire it once that is done, not wait for it under our locks.
          if (!instance && (await instanceExists(tx, runtime.groupId, timeout.key))) {
            await tx.query('ROLLBACK TO SAVEPOINT one_timeout');
            scheduled.push(Date.now() + 20);
            continue;
          }
          // Deleted first: the step may schedule a timeout of the same name again.
          await deleteTimeout(tx, timeout.id);
          if (await recordInInbox(tx, runtime.groupId, { id: timeout.id, topic: TIMEOUT_TOPIC, partition: -1, offset: '0' } as never)) {
            await applyTimeout(context, timeout.key, instance, timeout.name, timeout.data);
          }
          await tx.query('RELEASE SAVEPOINT one_timeout');
          scheduled.push(...context.scheduled);
          fired += 1;
        } catch (error) {
          await tx.query('ROLLBACK TO SAVEPOINT one_timeout');
          await this.failed(tx, timeout, error);
          fired += 1;
        }
      }
      return fired;
    });
    for (const at of scheduled) this.wake(at);
    return taken;
  }

  /** Retry later, or dead-letter now (through the outbox, with the timeout's row gone in the same transaction). */
  private async failed(tx: Parameters<typeof deleteTimeout>[0], timeout: DueTimeout, error: unknown): Promise<void> {
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
    await deadLetterInTransaction(tx, runtime.naming, runtime.deadLetterTopic, runtime.groupId, [message], verdict);
    await deleteTimeout(tx, timeout.id);
    runtime.logger.error('saga timeout dead-lettered', { group: runtime.groupId, key: timeout.key, name: timeout.name, reason: verdict.reason, ...errorFields(error) });
  }
}
