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

/**
 * Messages grouped by event id (`ce_id`): one entry per published event, however many times
 * Kafka holds it (the outbox relay is at-least-once: a crash between Kafka's acknowledgement
 * and the delete sends a row again, with the same id). Two entries for one effect are a
 * second effect; two messages in one entry are a redelivery, which consumers absorb.
 */
export function byEventId(messages: readonly ReadMessage[]): Map<string, ReadMessage[]> {
  const events = new Map<string, ReadMessage[]>();
  for (const message of messages) {
    const id = message.headers['ce_id'];
    if (id === undefined) throw new Error(`message without ce_id on ${message.topic}[${message.partition}]@${message.offset}`);
    const copies = events.get(id) ?? [];
    copies.push(message);
    events.set(id, copies);
  }
  return events;
}
