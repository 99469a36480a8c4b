import { Consumer } from '@platformatic/kafka';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

/** What a probe saw: the broker let the client through, or the Kafka error code it refused with. */
export type Verdict = 'allowed' | string;

interface ClientError {
  readonly type?: string;
  readonly apiId?: string;
  readonly cause?: unknown;
  readonly errors?: readonly unknown[];
}

/** The Kafka error code inside a client's wrappers (kafkajs' `type`, @platformatic/kafka's `apiId`), else the message. */
export function refusalOf(error: unknown): string {
  const pending: unknown[] = [error];
  for (let e = pending.shift() as ClientError | undefined; e; e = pending.shift() as ClientError | undefined) {
    const code = e.type ?? e.apiId;
    if (code) return code;
    pending.push(...(e.errors ?? []), ...(e.cause ? [e.cause] : []));
  }
  const message = (error as Error).message ?? String(error);
  // kafkajs reports a metadata request refused for some topics this way, without the code.
  return /Not authorized to access topics/.test(message) ? 'TOPIC_AUTHORIZATION_FAILED' : message;
}

/**
 * Real clients on one user's connection. kafkajs retries what Kafka calls retriable (a leader
 * still moving) and never an authorization failure, so a refusal comes back as the answer.
 */
export class KafkaProbe {
  private readonly kafka: Kafka;

  constructor(
    private readonly connection: { readonly bootstrap: string; readonly ca: string; readonly username: string; readonly password: string },
    private readonly clientId: string,
  ) {
    const config: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> = {
      brokers: [connection.bootstrap],
      ssl: { ca: [connection.ca] },
      sasl: { mechanism: 'scram-sha-512', username: connection.username, password: connection.password },
    };
    this.kafka = new Kafka({ ...config, clientId, logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
  }

  async produce(topic: string): Promise<Verdict> {
    const producer = this.kafka.producer({ allowAutoTopicCreation: false });
    try {
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'probe', value: 'probe' }] });
      return 'allowed';
    } catch (error) {
      return refusalOf(error);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  /** Joins `groupId`, subscribes to `topic` from its beginning and waits for one message. */
  async consume(groupId: string, topic: string, timeoutMs = 20_000): Promise<Verdict> {
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, retry: { retries: 8, initialRetryTime: 200, restartOnFailure: async () => false } });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      return await new Promise<Verdict>((resolve) => {
        const timer = setTimeout(() => resolve(`no message within ${timeoutMs} ms`), timeoutMs);
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          clearTimeout(timer);
          resolve(refusalOf(payload.error));
        });
        consumer
          .run({
            eachMessage: async () => {
              clearTimeout(timer);
              resolve('allowed');
            },
          })
          .catch((error: unknown) => {
            clearTimeout(timer);
            resolve(refusalOf(error));
          });
      });
    } catch (error) {
      return refusalOf(error);
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }

  /**
   * Joins a group and nothing more. By @platformatic/kafka, because kafkajs reports a refused
   * FindCoordinator (no Describe on the group) as 'Failed to find group coordinator', hiding
   * the broker's GROUP_AUTHORIZATION_FAILED.
   */
  async joinGroup(groupId: string): Promise<Verdict> {
    const { bootstrap, ca, username, password } = this.connection;
    const consumer = new Consumer({
      clientId: this.clientId,
      groupId,
      bootstrapBrokers: [bootstrap],
      tls: { ca },
      sasl: { mechanism: 'SCRAM-SHA-512', username, password },
      retries: 3,
      retryDelay: 100,
    });
    try {
      await consumer.joinGroup({});
      return 'allowed';
    } catch (error) {
      return refusalOf(error);
    } finally {
      await consumer.close(true).catch(() => undefined);
    }
  }
}
