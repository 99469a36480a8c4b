import { Admin, Consumer, Producer, ProduceAcks, type BaseOptions } from '@platformatic/kafka';
import type { Logger } from '@platform/core';
import type { Broker, BrokerAdmin, GroupConsumer, MessageProducer, OutgoingMessage, ProducerOptions } from './broker';
import { FetchBudget } from './fetch-budget';
import type { KafkaJsBrokerOptions } from './kafkajs-broker';
import { PlatformaticAdmin } from './platformatic/admin';
import { asKafkaRefusal } from './platformatic/errors';
import { PlatformaticGroupConsumer } from './platformatic/group-consumer';
import { javaCompatiblePartitioner } from './platformatic/java-partitioner';

/** The same settings as the kafkajs adapter's, so either is built from one configuration. */
export type PlatformaticBrokerOptions = KafkaJsBrokerOptions;

/** What a process's groups may hold fetched and not yet handled, unless maxBytesInFlight says otherwise. */
export const DEFAULT_MAX_BYTES_IN_FLIGHT = 8 * 1024 * 1024;

const SASL_MECHANISMS = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

/** @platformatic/kafka behind the Broker port (Node >= 22). */
export class PlatformaticBroker implements Broker {
  private readonly logger: Logger;
  /** One for all the groups this broker makes: a service's whole process. */
  private readonly fetchBudget: FetchBudget;

  constructor(private readonly options: PlatformaticBrokerOptions) {
    this.logger = options.logger;
    this.fetchBudget = new FetchBudget(options.maxBytesInFlight ?? DEFAULT_MAX_BYTES_IN_FLIGHT);
  }

  private base(clientId: string): BaseOptions {
    const { sasl, tls } = this.options;
    return {
      clientId,
      bootstrapBrokers: [...this.options.brokers],
      retries: 8,
      retryDelay: 200,
      ...(sasl ? { sasl: { mechanism: SASL_MECHANISMS[sasl.mechanism], username: sasl.username, password: sasl.password } } : {}),
      ...(tls ? { tls: tls.ca ? { ca: tls.ca } : {} } : {}),
    };
  }

  async producer(options: ProducerOptions): Promise<MessageProducer> {
    const producer = new Producer({
      ...this.base(this.options.clientId),
      idempotent: options.idempotent,
      acks: ProduceAcks.ALL,
      // kafkajs' DefaultPartitioner (the Java client's): a key lands in the same partition whichever adapter wrote it.
      partitioner: javaCompatiblePartitioner,
      // Bounded, so a send fails while Kafka is away and the caller (the relay) decides what next.
      retries: 5,
      retryDelay: 100,
      // One request in flight per broker keeps per-partition order even across retries.
      maxInflights: 1,
    });
    producer.on('error', (error: Error) => this.logger.warn('platformatic producer error', { error: error.message }));
    // Connects and, when idempotent, obtains the producer id now rather than on the first send.
    await producer.metadata({ topics: [] });
    return {
      async send(messages: readonly OutgoingMessage[]) {
        if (messages.length === 0) return;
        await producer
          .send({
            messages: messages.map((m) => ({
              topic: m.topic,
              key: Buffer.from(m.key),
              value: typeof m.value === 'string' ? Buffer.from(m.value) : m.value,
              headers: headerBuffers(m.headers),
            })),
          })
          .catch((error: unknown) => {
            // Kafka's refusals (a record too large, a topic it does not have) as the relay and the dead-letter writer read them.
            throw asKafkaRefusal(error);
          });
      },
      disconnect: () => producer.close(),
    };
  }

  async consumer(options: { groupId: string; clientId?: string }): Promise<GroupConsumer> {
    const base = this.base(options.clientId ?? this.options.clientId);
    const consumer = new Consumer({ ...base, groupId: options.groupId, autocommit: false });
    // As kafkajs' connect(): fails now when Kafka cannot be reached.
    await consumer.metadata({ topics: [] }).catch(async (error) => {
      await consumer.close(true).catch(() => undefined);
      throw error;
    });
    const { clientId: _clientId, bootstrapBrokers: _brokers, retries: _retries, retryDelay: _retryDelay, ...connection } = base;
    const member = new PlatformaticGroupConsumer(consumer, {
      logger: this.logger,
      groupId: options.groupId,
      connection,
      sessionTimeoutMs: this.options.sessionTimeoutMs ?? 10_000,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 250,
      // As the kafkajs adapter: smaller than the client's defaults; each group pays its fetch buffers.
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 256 * 1024,
      maxBytes: this.options.maxBytes ?? 4 * 1024 * 1024,
      budget: this.fetchBudget,
    });
    // A plain object of functions, as the kafkajs adapter returns: callers may spread it to wrap one.
    return {
      subscribe: (topics, subscribeOptions) => member.subscribe(topics, subscribeOptions),
      run: (runOptions) => member.run(runOptions),
      commit: (offsets) => member.commit(offsets),
      pause: (partitions) => member.pause(partitions),
      resume: (partitions) => member.resume(partitions),
      onAssignment: (listener) => member.onAssignment(listener),
      onRebalancing: (listener) => member.onRebalancing(listener),
      onCrash: (listener) => member.onCrash(listener),
      stop: () => member.stop(),
    };
  }

  async admin(): Promise<BrokerAdmin> {
    const base = this.base(this.options.clientId);
    const admin = new Admin(base);
    // Never joins: its group id only satisfies the constructor.
    const reader = new Consumer({ ...base, groupId: `${this.options.clientId}-admin-reader`, autocommit: false });
    try {
      await admin.metadata({ topics: [] });
    } catch (error) {
      await Promise.all([admin.close().catch(() => undefined), reader.close().catch(() => undefined)]);
      throw error;
    }
    return new PlatformaticAdmin(admin, reader);
  }
}

/** The headers as the client writes them, without the arrays an entries().map() makes per message. */
function headerBuffers(headers: OutgoingMessage['headers']): Map<Buffer, Buffer> {
  const buffers = new Map<Buffer, Buffer>();
  for (const name of Object.keys(headers)) buffers.set(Buffer.from(name), Buffer.from(headers[name]));
  return buffers;
}
