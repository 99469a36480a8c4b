import { secondsSince, traceparentOf, withLogContext, withOpenedTransaction, type SqlClient } from '@platform/core';
import type { ReceivedEnvelope } from '../envelope/envelope';
import type { IncomingMessage, PartitionBatch } from '../kafka/broker';
import { AfterCommit } from './after-commit';
import type { BufferBudget } from './buffer-budget';
import { messageLogContext, type ConsumerRuntime, type Handling } from './handling';
import { inboxRecordStatement } from './inbox';
import { PartitionProcessor } from './partition-processor';
import type { EnvelopeOf, UseCase } from './use-case';
import { startProcessSpan, TransactionSpans, withSpan } from '../tracing/messaging-spans';

export interface EventHandlingOptions {
  /** Events queued behind parked keys, per partition, before that partition stops fetching. */
  readonly maxParkedPerPartition?: number;
  /** Fetched events waiting to be handled, per partition, before that partition stops fetching. */
  readonly maxBufferedPerPartition?: number;
  /** How long handled offsets may wait to be committed together (default 100 ms). */
  readonly offsetCommitIntervalMs?: number;
  /** Fetched, unhandled messages' bytes, shared by every use case of the process. */
  readonly bufferBudget?: BufferBudget;
  /**
   * Transactions of one partition running at once, each on keys the others do not hold (the
   * order per key is kept): an event need not queue behind another key's transaction.
   */
  readonly transactionsPerPartition?: number;
}

/**
 * Transactions a partition runs at once by default. One after the other, an event of another key
 * queued behind the transaction in flight whenever the database was slow to answer. Paced
 * pipeline on 2026-12-02, a noisy 2-core machine: commit-to-effect p99 37 ms median of nine
 * rounds (20-147) with 1, 34 ms (17-39) with 3; 2 was no better than 1 (32-35 in three), and 6
 * worse (32-53: more transactions contending for the cores). The database pool still bounds them all.
 */
export const DEFAULT_TRANSACTIONS_PER_PARTITION = 3;

/** Events of one partition handled in one transaction when nothing fails; 1 = a transaction each. */
export const DEFAULT_MAX_PER_TRANSACTION = 20;

/**
 * Handling event by event: each event in a transaction that also records it in the inbox, so a
 * redelivered event has no second effect; a partition processor per partition keeps the order
 * per key, parks failing keys and moves the committed offset only past finished events.
 */
export class EventHandling implements Handling {
  private processors = new Map<string, PartitionProcessor>();

  constructor(
    private readonly runtime: ConsumerRuntime,
    private readonly useCase: UseCase,
    private readonly options: EventHandlingOptions = {},
  ) {}

  get parked(): number {
    return [...this.processors.values()].reduce((sum, p) => sum + p.parked, 0);
  }

  start(): void {
    // Partition processors are made as partitions are fetched.
  }

  take(batch: PartitionBatch): Promise<string | undefined> {
    return this.processorFor(batch).take(batch);
  }

  /** Stop retrying parked keys: their events are uncommitted and go to the next owner. */
  rebalancing(): void {
    const previous = this.processors;
    this.processors = new Map();
    for (const processor of previous.values()) void processor.stop(0);
  }

  async stop(deadlineMs: number): Promise<void> {
    await Promise.all([...this.processors.values()].map((p) => p.stop(deadlineMs)));
    this.processors.clear();
  }

  private processorFor(batch: PartitionBatch): PartitionProcessor {
    const id = `${batch.topic}:${batch.partition}`;
    let processor = this.processors.get(id);
    if (!processor) {
      const { runtime, options } = this;
      processor = new PartitionProcessor(batch.topic, batch.partition, {
        group: runtime.groupId,
        policy: runtime.policy,
        logger: runtime.logger,
        maxParked: options.maxParkedPerPartition,
        maxBuffered: options.maxBufferedPerPartition,
        budget: options.bufferBudget,
        commitIntervalMs: options.offsetCommitIntervalMs,
        concurrency: options.transactionsPerPartition ?? DEFAULT_TRANSACTIONS_PER_PARTITION,
        handle: (message) => this.handle(message),
        handleTogether: (messages) => this.handleTogether(messages),
        maxPerTransaction: this.useCase.maxPerTransaction ?? DEFAULT_MAX_PER_TRANSACTION,
        deadLetter: (message, failure) => runtime.deadLetter(message, failure),
        commit: (offset) => runtime.commit(batch, offset),
        retries: runtime.metrics.retried,
      });
      this.processors.set(id, processor);
    }
    return processor;
  }

  private async handle(message: IncomingMessage): Promise<void> {
    await this.handleTogether([message]);
  }

  /**
   * Events in one transaction, which its BEGIN opens together with their inbox records (one round
   * trip): each handled when recorded now, all committed together.
   */
  private async handleTogether(messages: readonly IncomingMessage[]): Promise<void> {
    const envelopes = messages.map((m) => this.runtime.read(m));
    const committed = new AfterCommit();
    const spans = new TransactionSpans();
    let handled = 0;
    await spans.endWith(
      withOpenedTransaction<void, { event_id: string }>(this.runtime.pool, inboxRecordStatement(this.runtime.groupId, envelopes), async (tx, recorded) => {
        handled = 0;
        const fresh = new Set(recorded.rows.map((r) => r.event_id));
        for (const envelope of envelopes) {
          // The same event twice in one run (a producer retry) is recorded once and handled once.
          if (fresh.delete(envelope.id)) {
            await this.handleRecorded(tx, envelope, committed, spans);
            handled += 1;
          } else this.runtime.logger.debug('duplicate delivery ignored', { group: this.runtime.groupId, eventId: envelope.id });
        }
      }),
    );
    this.runtime.metrics.handled.inc(handled);
    committed.run(this.runtime.logger);
  }

  /**
   * Runs the handler in the message's process span, which ends with the transaction. What the
   * handler logs and publishes carries that span's trace (the message's own when not recorded).
   */
  private async handleRecorded(tx: SqlClient, envelope: ReceivedEnvelope, committed: AfterCommit, spans: TransactionSpans): Promise<void> {
    const { groupId } = this.runtime;
    const span = spans.add(startProcessSpan(groupId, envelope));
    const traceparent = traceparentOf(span, envelope.traceparent);
    const started = performance.now();
    try {
      // Every line logged while the handler runs carries the message's group, topic, partition, offset, correlation and trace.
      await withSpan(span, () =>
        withLogContext(messageLogContext(groupId, envelope, traceparent), () =>
          this.useCase.handle(envelope as EnvelopeOf<typeof this.useCase.events>, this.runtime.handlerContext(tx, envelope, committed, traceparent)),
        ),
      );
    } finally {
      this.runtime.metrics.handlerDuration.observe(secondsSince(started));
    }
  }
}
