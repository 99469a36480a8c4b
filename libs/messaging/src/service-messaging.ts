import type { EventClass } from '@platform/contracts';
import type { Pool } from 'pg';
import type { EventEnvelope, EventMetadata } from './envelope/envelope';
import type { Broker } from './kafka/broker';
import { ensureTopics } from './kafka/ensure-topics';
import { KafkaNaming } from './kafka/naming';
import type { Logger } from './logging/logger';
import { OutboxRelay, type OutboxRelayOptions } from './outbox/outbox-relay';
import { OutboxPublisher, type PendingEvent } from './outbox/publisher';
import type { SqlClient } from './sql/sql-client';
import type { UseCase } from './consumer/use-case';
import { UseCaseConsumer } from './consumer/use-case-consumer';

export interface ServiceMessagingOptions {
  /** kebab-case service name: the CloudEvents source and the first part of every group id. */
  readonly service: string;
  readonly broker: Broker;
  readonly naming?: KafkaNaming;
  /** The service's own database. */
  readonly pool: Pool;
  readonly publishes: readonly EventClass[];
  readonly useCases: readonly UseCase[];
  readonly logger: Logger;
  /** The publisher the service's own code uses, when it was created before this object. */
  readonly publisher?: OutboxPublisher;
  readonly relay?: Pick<OutboxRelayOptions, 'batchSize' | 'pollIntervalMs' | 'standbyRetryMs' | 'maxBackoffMs'>;
  readonly partitionsConcurrently?: number;
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
  private started = false;

  constructor(private readonly options: ServiceMessagingOptions) {
    const names = options.useCases.map((u) => u.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate) throw new Error(`${options.service} declares use case "${duplicate}" twice; each needs its own name`);
    this.naming = options.naming ?? new KafkaNaming();
    this.publisher = options.publisher ?? new OutboxPublisher(options.service, options.publishes);
    this.relay = new OutboxRelay({
      ...options.relay,
      pool: options.pool,
      naming: this.naming,
      logger: options.logger,
      producerFactory: () => options.broker.producer({ idempotent: true }),
    });
    this.consumers = options.useCases.map(
      (useCase) =>
        new UseCaseConsumer({
          service: options.service,
          useCase,
          broker: options.broker,
          pool: options.pool,
          naming: this.naming,
          publisher: this.publisher,
          logger: options.logger,
          partitionsConcurrently: options.partitionsConcurrently,
        }),
    );
  }

  /** Every event this service touches: the topics it must be able to see. */
  get events(): readonly EventClass[] {
    return [...new Set([...this.options.publishes, ...this.options.useCases.flatMap((u) => [...u.events])])];
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Creates missing topics, starts the relay and every use case; stop() undoes a partial start. */
  async start(): Promise<void> {
    if (this.started) return;
    const admin = await this.options.broker.admin();
    try {
      await ensureTopics(admin, this.naming, this.events);
    } finally {
      await admin.disconnect();
    }
    this.relay.start();
    await Promise.all(this.consumers.map((c) => c.start()));
    this.started = true;
  }

  /** Stops consuming first (in-flight events finish or are handed back), then the relay. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all(this.consumers.map((c) => c.stop()));
    await this.relay.stop();
  }

  publish<T extends object>(tx: SqlClient, event: EventClass<T>, payload: T, metadata?: EventMetadata): Promise<EventEnvelope<T>> {
    return this.publisher.publish(tx, event, payload, metadata);
  }

  publishAll(tx: SqlClient, events: readonly PendingEvent[]): Promise<EventEnvelope[]> {
    return this.publisher.publishAll(tx, events);
  }
}
