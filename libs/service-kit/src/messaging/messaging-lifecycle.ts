import { errorFields, type Metrics } from '@platform/core';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { createBroker, KafkaNaming, OutboxPublisher, ServiceMessaging, TopicMismatchError, type Broker, type AnyUseCase, type BrokerAdmin, type ConsumerStatus } from '@platform/messaging';
import { DataSource } from 'typeorm';
import type { ServiceConfig } from '../config/service-config';
import { serviceLogger } from '../logging/process-logger';
import { METRICS, SERVICE_CONFIG, SERVICE_KIT_OPTIONS } from '../tokens';
import type { ServiceKitOptions } from '../service-kit.options';
import { poolOf } from '../database/pool-of';

/**
 * Starts the service's messaging after Nest is up and stops it before Nest goes down.
 * Kafka being away at start is not fatal: the HTTP API serves (writes go to the outbox)
 * while start is retried, and /health/ready reports the service as degraded. A topic whose
 * partition count differs from its contract is: no retry can fix it, and a service that served
 * meanwhile would pile its writes up in an outbox nothing relays (`refused`).
 */
@Injectable()
export class MessagingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger;
  readonly broker: Broker;
  private messaging?: ServiceMessaging;
  private starting?: Promise<void>;
  private stopped = false;
  private admin?: BrokerAdmin;
  private refuse: (error: Error) => void = () => undefined;
  /** Settles when messaging refused to start for good (TopicMismatchError); the process should then exit. */
  readonly refused = new Promise<Error>((resolve) => (this.refuse = resolve));

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(SERVICE_KIT_OPTIONS) private readonly options: ServiceKitOptions,
    private readonly publisher: OutboxPublisher,
    private readonly dataSource: DataSource,
    private readonly moduleRef: ModuleRef,
    @Inject(METRICS) private readonly metrics: Metrics,
  ) {
    this.logger = serviceLogger('Messaging');
    this.broker = createBroker(config.kafkaClient, {
      brokers: config.kafkaBrokers,
      clientId: config.service,
      logger: this.logger,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
      sasl: config.kafkaSasl,
      tls: config.kafkaTls,
    });
  }

  onApplicationBootstrap(): void {
    const useCases = (this.options.useCases ?? []).map((type) => this.moduleRef.get<AnyUseCase>(type, { strict: false }));
    this.messaging = new ServiceMessaging({
      service: this.config.service,
      broker: this.broker,
      naming: new KafkaNaming(this.config.kafkaNamespace),
      pool: poolOf(this.dataSource),
      publishes: this.options.publishes,
      publisher: this.publisher,
      useCases,
      logger: this.logger,
      partitionsConcurrently: this.config.consumerConcurrency,
      transactionsPerPartition: this.config.consumerTransactionsPerPartition,
      metrics: this.metrics,
      deadLetterStacks: this.config.deadLetterStacks,
    });
    this.starting = this.startWithRetry(this.messaging);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.starting;
    // Leave time after the handlers finish for committing, leaving the group and closing pools.
    await this.messaging?.stop(Math.max(1000, this.config.shutdownTimeoutMs - 5000));
    await this.admin?.disconnect().catch(() => undefined);
  }

  get running(): ServiceMessaging | undefined {
    return this.messaging?.isStarted ? this.messaging : undefined;
  }

  /**
   * Each use case's consumer and its status, also before messaging has started (or while its
   * start is retried): what the health checks look at. Empty before Nest's bootstrap.
   */
  get useCases(): readonly { readonly groupId: string; readonly status: ConsumerStatus }[] {
    return (this.messaging?.consumers ?? []).map(({ groupId, status }) => ({ groupId, status }));
  }

  /** A connected admin client for readiness checks, created once. */
  async adminClient(): Promise<BrokerAdmin> {
    this.admin ??= await this.broker.admin();
    return this.admin;
  }

  private async startWithRetry(messaging: ServiceMessaging): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await messaging.start();
        this.logger.info('messaging started', { publishes: this.options.publishes.length, useCases: messaging.consumers.map((c) => c.groupId) });
        return;
      } catch (error) {
        await messaging.stop().catch(() => undefined);
        if (error instanceof TopicMismatchError) {
          this.logger.error('messaging refuses to start: a topic does not match its contract', errorFields(error));
          this.refuse(error);
          return;
        }
        const delay = Math.min(10_000, 500 * attempt);
        this.logger.warn('messaging could not start; retrying', { attempt, retryInMs: delay, ...errorFields(error) });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
