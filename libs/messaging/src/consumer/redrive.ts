import type { Broker } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';
import type { Logger } from '@platform/core';

export interface RedriveOptions {
  readonly broker: Broker;
  readonly naming: KafkaNaming;
  readonly service: string;
  readonly useCase: string;
  readonly logger: Logger;
  /** Called after each redriven message with the count so far and the total to do. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Re-applies a use case's dead letters, in the order they were dead-lettered, by copying them
 * to the use case's own redrive topic (which only that use case reads, through its normal
 * pipeline: inbox, retries, dead letters again if still failing). A cursor group remembers
 * how far redriving got, so each dead letter is redriven once however often this runs.
 * Returns how many messages were redriven.
 */
export async function redriveDeadLetters(options: RedriveOptions): Promise<number> {
  const { broker, naming, service, useCase, logger } = options;
  const deadLetterTopic = naming.deadLetterTopic(service, useCase);
  const redriveTopic = naming.redriveTopic(service, useCase);
  const cursorGroup = `${naming.group(service, useCase)}.redrive-cursor`;

  const admin = await broker.admin();
  let remaining: number;
  let end: bigint;
  try {
    const topics = new Set(await admin.listTopics());
    for (const topic of [deadLetterTopic, redriveTopic]) {
      if (!topics.has(topic)) throw new Error(`topic ${topic} does not exist: is "${useCase}" a use case of ${service}, and has the service run in this namespace?`);
    }
    const [endOffset] = await admin.endOffsets(deadLetterTopic);
    const [committed] = await admin.committedOffsets(cursorGroup, [deadLetterTopic]);
    end = BigInt(endOffset.offset);
    const from = committed && committed.offset !== '-1' ? BigInt(committed.offset) : 0n;
    remaining = Number(end - from);
  } finally {
    await admin.disconnect();
  }
  if (remaining <= 0) {
    logger.info('no dead letters to redrive', { deadLetterTopic });
    return 0;
  }

  const producer = await broker.producer({ idempotent: true });
  const consumer = await broker.consumer({ groupId: cursorGroup });
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      consumer.onCrash(reject);
      consumer
        .subscribe([deadLetterTopic], { fromBeginning: true })
        .then(() =>
          consumer.run({
            partitionsConcurrently: 1,
            onBatch: async (batch) => {
              let last: string | undefined;
              for (const message of batch.messages) {
                if (BigInt(message.offset) >= end) break;
                await producer.send([{ topic: redriveTopic, key: message.key ?? '', value: message.value ?? Buffer.alloc(0), headers: message.headers }]);
                await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(message.offset) + 1n).toString() }]);
                last = message.offset;
                done += 1;
                options.onProgress?.(done, remaining);
              }
              if (done >= remaining || (last !== undefined && BigInt(last) + 1n >= end)) resolve();
              return last;
            },
          }),
        )
        .catch(reject);
    });
  } finally {
    await consumer.stop();
    await producer.disconnect();
  }
  logger.info('dead letters redriven', { deadLetterTopic, redriveTopic, count: done });
  return done;
}
