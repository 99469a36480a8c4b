import type { Pool } from 'pg';
import type { ReceivedEnvelope } from '../envelope/envelope';
import type { Broker, GroupConsumer, IncomingMessage, PartitionBatch, TopicPartition } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';
import { errorFields, type Logger } from '../logging/logger';
import type { OutboxPublisher } from '../outbox/publisher';
import { withTransaction } from '../sql/sql-client';
import { decodeMessage } from './decode-message';
import { recordInInbox } from './inbox';
import type { EnvelopeOf, HandlerContext, UseCase } from './use-case';

export interface UseCaseConsumerOptions {
  readonly service: string;
  readonly useCase: UseCase;
  readonly broker: Broker;
  readonly pool: Pool;
  readonly naming: KafkaNaming;
  readonly publisher: OutboxPublisher;
  readonly logger: Logger;
  /** Partitions handled at the same time; within one partition events are handled in order. */
  readonly partitionsConcurrently?: number;
  /** Upper bound of the back-off between attempts of a failing handler. */
  readonly maxRetryBackoffMs?: number;
}

export type ConsumerStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'crashed';

/**
 * Runs one use case in its own consumer group. Each event is handled in a transaction that
 * also records it in the inbox; the group's offset moves only after that commit, so a
 * redelivered event finds its inbox record and has no second effect.
 */
export class UseCaseConsumer {
  readonly groupId: string;
  readonly topics: readonly string[];
  private consumer?: GroupConsumer;
  private status_: ConsumerStatus = 'idle';
  private assigned: readonly TopicPartition[] = [];
  private readonly logger: Logger;

  constructor(private readonly options: UseCaseConsumerOptions) {
    this.groupId = options.naming.group(options.service, options.useCase.name);
    this.topics = [...new Set(options.useCase.events.map((e) => options.naming.topic(e)))];
    if (this.topics.length === 0) throw new Error(`use case ${options.useCase.name} declares no events`);
    this.logger = options.logger;
  }

  get status(): ConsumerStatus {
    return this.status_;
  }

  get assignment(): readonly TopicPartition[] {
    return this.assigned;
  }

  async start(): Promise<void> {
    this.status_ = 'starting';
    const consumer = await this.options.broker.consumer({ groupId: this.groupId });
    this.consumer = consumer;
    consumer.onAssignment((assigned) => {
      this.assigned = assigned;
      this.logger.info('partitions assigned', { group: this.groupId, partitions: assigned.length });
    });
    consumer.onCrash((error) => {
      this.status_ = 'crashed';
      this.logger.error('consumer crashed and will not restart', { group: this.groupId, ...errorFields(error) });
    });
    // A new group starts at the beginning: a use case deployed later still sees every retained event.
    await consumer.subscribe(this.topics, { fromBeginning: true });
    await consumer.run({
      partitionsConcurrently: this.options.partitionsConcurrently ?? 3,
      onBatch: (batch) => this.handleBatch(batch),
    });
    this.status_ = 'running';
    this.logger.info('use case consuming', { group: this.groupId, topics: this.topics });
  }

  async stop(): Promise<void> {
    if (!this.consumer) return;
    this.status_ = 'stopping';
    await this.consumer.stop();
    this.consumer = undefined;
    this.status_ = 'stopped';
  }

  private async handleBatch(batch: PartitionBatch): Promise<string | undefined> {
    let done: string | undefined;
    let lastCommit = Date.now();
    for (const message of batch.messages) {
      if (!batch.isRunning() || batch.isStale()) break;
      const handled = await this.handleMessage(message, batch);
      if (!handled) break;
      done = message.offset;
      if (Date.now() - lastCommit > 1000) {
        await this.commit(batch, done);
        lastCommit = Date.now();
      }
    }
    if (done !== undefined) await this.commit(batch, done);
    return done;
  }

  private async commit(batch: PartitionBatch, offset: string): Promise<void> {
    await this.consumer?.commit([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(offset) + 1n).toString() }]);
  }

  /** Resolves true once the message is handled or skipped; false if the consumer is stopping. */
  private async handleMessage(message: IncomingMessage, batch: PartitionBatch): Promise<boolean> {
    let envelope: ReceivedEnvelope;
    try {
      envelope = decodeMessage(message, this.options.useCase.events, this.options.naming);
    } catch (error) {
      this.logger.warn('skipping a message that is not a valid event', {
        group: this.groupId,
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        ...errorFields(error),
      });
      return true;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.handleInTransaction(envelope);
        return true;
      } catch (error) {
        const backoff = Math.min(this.options.maxRetryBackoffMs ?? 30_000, 100 * 2 ** Math.min(attempt, 12));
        this.logger.warn('handler failed; retrying', { group: this.groupId, eventId: envelope.id, attempt, backoffMs: backoff, ...errorFields(error) });
        const deadline = Date.now() + backoff;
        while (Date.now() < deadline) {
          if (!batch.isRunning() || batch.isStale()) return false;
          await batch.heartbeat();
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, deadline - Date.now())));
        }
      }
    }
  }

  private async handleInTransaction(envelope: ReceivedEnvelope): Promise<void> {
    const { useCase, publisher, pool } = this.options;
    await withTransaction(pool, async (tx) => {
      if (!(await recordInInbox(tx, this.groupId, envelope))) {
        this.logger.debug('duplicate delivery ignored', { group: this.groupId, eventId: envelope.id });
        return;
      }
      const context: HandlerContext = {
        tx,
        logger: this.logger,
        publish: (event, payload, metadata) =>
          publisher.publish(tx, event, payload, { correlationId: envelope.correlationId, causationId: envelope.id, traceparent: envelope.traceparent, ...metadata }),
      };
      await useCase.handle(envelope as EnvelopeOf<typeof useCase.events>, context);
    });
  }
}
