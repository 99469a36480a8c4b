import type { EventClass } from '@platform/contracts';
import type { Pool } from 'pg';
import { BufferBudget } from './consumer/buffer-budget';
import { DeadLetterWriter } from './consumer/dead-letters';
import type { UseCase } from './consumer/use-case';
import { UseCaseConsumer, type ConsumerStatus } from './consumer/use-case-consumer';
import type { EventEnvelope, EventMetadata } from './envelope/envelope';
import type { Broker, TopicPartition } from './kafka/broker';
import { ensureTopics, useCaseTopicSpecs } from './kafka/ensure-topics';
import { KafkaNaming } from './kafka/naming';
import type { Logger, Metrics, SqlClient } from '@platform/core';
import { MessagingGauges } from './metrics/messaging-gauges';
import { OutboxRelay, type OutboxRelayOptions } from './outbox/outbox-relay';
import { OutboxPublisher, type PendingEvent } from './outbox/publisher';
import type { WindowedUseCase } from './windowing/windowed-use-case';
import { isSaga, type Saga } from './saga/saga';

export type AnyUseCase = UseCase | WindowedUseCase | Saga;

/** What the service sees of each use case's consumer, whatever its kind. */
export interface RunningUseCase {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly deadLetterTopic: string;
  readonly redriveTopic: string;
  readonly status: ConsumerStatus;
  readonly assignment: readonly TopicPartition[];
  start(): Promise<void>;
  stop(deadlineMs?: number): Promise<void>;
}

export interface ServiceMessagingOptions {
  /** kebab-case service name: the CloudEvents source and the first part of every group id. */
  readonly service: string;
  readonly broker: Broker;
  readonly naming?: KafkaNaming;
  /** The service's own database. */
  readonly pool: Pool;
  readonly publishes: readonly EventClass[];
  readonly useCases: readonly AnyUseCase[];
  readonly logger: Logger;
  /** The publisher the service's own code uses, when it was created before this object. */
  readonly publisher?: OutboxPublisher;
  readonly relay?: Pick<OutboxRelayOptions, 'batchSize' | 'pollIntervalMs' | 'standbyRetryMs' | 'maxBackoffMs' | 'maxAttempts' | 'leaderCheckTimeoutMs'>;
  readonly partitionsConcurrently?: number;
  /** Transactions each partition may run at once on different keys (default 3, `DEFAULT_TRANSACTIONS_PER_PARTITION`). */
  readonly transactionsPerPartition?: number;
  /** Bytes of fetched messages the use cases may hold unhandled, all together (default 16 MiB, `DEFAULT_MAX_BUFFERED_BYTES`). */
  readonly maxBufferedBytes?: number;
  /**
   * Where counters and histograms go, and what is read on scrape (consumer lag, the outbox, the
   * relay's totals); without it nothing is measured.
   */
  readonly metrics?: Metrics;
  /** Whether dead letters carry the error's stack trace (dlq_error_stack) besides its message and name; off by default. */
  readonly deadLetterStacks?: boolean;
}

/**
 * Everything messaging for one service: the outbox publisher, its relay, and one consumer
 * group per use case. Declarative: what a service publishes and consumes is this object.
 */
export class ServiceMessaging {
  readonly naming: KafkaNaming;
  readonly publisher: OutboxPublisher;
  readonly relay: OutboxRelay;
  readonly consumers: readonly UseCaseConsumer[];
  private readonly deadLetters: DeadLetterWriter;
  private readonly gauges?: MessagingGauges;
  private started = false;

  constructor(private readonly options: ServiceMessagingOptions) {
    const names = options.useCases.map((u) => u.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate) throw new Error(`${options.service} declares use case "${duplicate}" twice; each needs its own name`);
    this.naming = options.naming ?? new KafkaNaming();
    this.publisher = options.publisher ?? new OutboxPublisher(options.service, options.publishes);
    const producerFactory = () => options.broker.producer({ idempotent: true });
    this.relay = new OutboxRelay({ ...options.relay, pool: options.pool, naming: this.naming, logger: options.logger, producerFactory });
    this.deadLetters = new DeadLetterWriter(producerFactory, options.logger, { stacks: options.deadLetterStacks ?? false });
    const shared = {
      service: options.service,
      broker: options.broker,
      pool: options.pool,
      naming: this.naming,
      publisher: this.publisher,
      deadLetters: this.deadLetters,
      logger: options.logger,
      partitionsConcurrently: options.partitionsConcurrently,
      transactionsPerPartition: options.transactionsPerPartition,
      metrics: options.metrics,
      bufferBudget: new BufferBudget(options.maxBufferedBytes),
    };
    this.consumers = options.useCases.map((useCase) => new UseCaseConsumer({ ...shared, useCase }));
    if (options.metrics) {
      this.gauges = new MessagingGauges({
        metrics: options.metrics,
        pool: options.pool,
        broker: options.broker,
        groups: this.consumers.map((c) => ({ groupId: c.groupId, topics: [...c.topics, c.redriveTopic] })),
        relayStats: () => this.relay.stats(),
        sagas: options.useCases.flatMap((useCase, i) => (isSaga(useCase) ? [{ name: useCase.name, groupId: this.consumers[i].groupId }] : [])),
      });
    }
  }

  /** Every event this service touches, older versions its use cases receive upcast included: the topics it must be able to see. */
  get events(): readonly EventClass[] {
    return [...new Set([...this.options.publishes, ...this.consumers.flatMap((c) => c.readableEvents.all)])];
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Creates missing topics, starts the relay and every use case; stop() undoes a partial start. */
  async start(): Promise<void> {
    if (this.started) return;
    const admin = await this.options.broker.admin();
    try {
      const own = this.options.useCases.flatMap((u) => useCaseTopicSpecs(this.naming, this.options.service, u.name));
      await ensureTopics(admin, this.naming, this.events, own);
    } finally {
      await admin.disconnect();
    }
    this.deadLetters.reopen();
    this.gauges?.open();
    this.relay.start();
    await Promise.all(this.consumers.map((c) => c.start()));
    this.started = true;
  }

  /**
   * Stops consuming first (in-flight events finish within `deadlineMs` or are handed back
   * uncommitted), then the relay.
   */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.started = false;
    await Promise.all(this.consumers.map((c) => c.stop(deadlineMs)));
    await this.relay.stop();
    await this.deadLetters.close();
    await this.gauges?.close();
  }

  publish<T extends object>(tx: SqlClient, event: EventClass<T>, payload: T, metadata?: EventMetadata): Promise<EventEnvelope<T>> {
    return this.publisher.publish(tx, event, payload, metadata);
  }

  publishAll(tx: SqlClient, events: readonly PendingEvent[]): Promise<EventEnvelope[]> {
    return this.publisher.publishAll(tx, events);
  }

  /** One event in several versions of its type, under one event id: see OutboxPublisher.publishVersions. */
  publishVersions(tx: SqlClient, versions: readonly Omit<PendingEvent, 'metadata'>[], metadata?: EventMetadata): Promise<EventEnvelope[]> {
    return this.publisher.publishVersions(tx, versions, metadata);
  }
}
