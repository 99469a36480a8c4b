import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { uniqueName } from './names';

export interface ReadMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

/**
 * Reads topics from the beginning with plain kafkajs, in a throwaway group: an observer that
 * shares no code with the library under test.
 */
export class TopicReader {
  readonly messages: ReadMessage[] = [];
  private consumer?: Consumer;

  constructor(private readonly brokers: readonly string[], private readonly topics: readonly string[]) {}

  async start(): Promise<this> {
    const kafka = new Kafka({ clientId: 'test-reader', brokers: [...this.brokers], logLevel: logLevel.NOTHING });
    this.consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.topics], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
        this.messages.push({ topic, partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
      },
    });
    return this;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** Produces raw messages with plain kafkajs: for messages our library would refuse to write. */
export async function produceRaw(
  brokers: readonly string[],
  topic: string,
  messages: { key: string; value: string; headers: Record<string, string>; partition?: number }[],
): Promise<void> {
  const kafka = new Kafka({ clientId: 'test-raw-producer', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}
