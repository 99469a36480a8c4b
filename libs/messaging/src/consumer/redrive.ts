import type { BrokerAdmin, IncomingMessage, MessageProducer } from '../kafka/broker';
import type { Broker } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';
import type { Logger } from '@platform/core';
import { DLQ } from './dead-letters';

export interface RedriveOptions {
  readonly broker: Broker;
  readonly naming: KafkaNaming;
  readonly service: string;
  readonly useCase: string;
  readonly logger: Logger;
  /** Called after each redriven message with the count so far and the total to do. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** A message of a dead-letter topic, and whether it was redriven already. */
export interface DeadLetter extends IncomingMessage {
  readonly redriven: boolean;
}

/** Where a dead letter sits in its topic (one partition, but named so that nothing assumes it). */
export interface DeadLetterPosition {
  readonly partition: number;
  readonly offset: string;
}

const positionId = (p: DeadLetterPosition) => `${p.partition}:${p.offset}`;

const cursorGroupOf = (naming: KafkaNaming, service: string, useCase: string) => `${naming.group(service, useCase)}.redrive-cursor`;

function topicsOf(naming: KafkaNaming, service: string, useCase: string) {
  return { deadLetterTopic: naming.deadLetterTopic(service, useCase), redriveTopic: naming.redriveTopic(service, useCase) };
}

async function assertTopicsExist(admin: BrokerAdmin, service: string, useCase: string, topics: readonly string[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  for (const topic of topics) {
    if (!existing.has(topic)) throw new Error(`topic ${topic} does not exist: is "${useCase}" a use case of ${service}, and has the service run in this namespace?`);
  }
}

/** Every message of a topic, partition by partition, from the oldest retention kept. */
async function readTopic(admin: BrokerAdmin, topic: string): Promise<IncomingMessage[]> {
  const ranges = await admin.logRanges(topic);
  return (await Promise.all(ranges.map((r) => admin.readMessages({ topic, partition: r.partition, from: r.start, to: r.end })))).flat();
}

/**
 * The dead letters already redriven: those below the redrive cursor (`redriveDeadLetters` moves
 * it over all of them) and those whose copy in the redrive topic names them (`dlq_redriven_from`,
 * written by both ways of redriving).
 */
async function redrivenPositions(admin: BrokerAdmin, naming: KafkaNaming, service: string, useCase: string): Promise<(p: DeadLetterPosition) => boolean> {
  const { deadLetterTopic, redriveTopic } = topicsOf(naming, service, useCase);
  const [copies, cursor] = await Promise.all([readTopic(admin, redriveTopic), admin.committedOffsets(cursorGroupOf(naming, service, useCase), [deadLetterTopic])]);
  const marked = new Set(copies.map((m) => m.headers[DLQ.redrivenFrom]).filter((id): id is string => id !== undefined));
  return (p) => marked.has(positionId(p)) || BigInt(cursor.find((c) => c.partition === p.partition)?.offset ?? '-1') > BigInt(p.offset);
}

/** The copy of a dead letter that goes to the redrive topic: its key, bytes and headers, and where it came from. */
function redriveCopy(redriveTopic: string, letter: IncomingMessage) {
  return {
    topic: redriveTopic,
    key: letter.key ?? '',
    value: letter.value ?? Buffer.alloc(0),
    headers: { ...letter.headers, [DLQ.redrivenFrom]: positionId(letter) },
  };
}

/**
 * A use case's dead letters as they are in Kafka, oldest first, each with whether it was redriven
 * already. Read without a consumer group (nothing about the topic changes).
 */
export async function readDeadLetters(admin: BrokerAdmin, naming: KafkaNaming, service: string, useCase: string): Promise<DeadLetter[]> {
  const { deadLetterTopic, redriveTopic } = topicsOf(naming, service, useCase);
  await assertTopicsExist(admin, service, useCase, [deadLetterTopic, redriveTopic]);
  const [letters, redriven] = await Promise.all([readTopic(admin, deadLetterTopic), redrivenPositions(admin, naming, service, useCase)]);
  return letters.map((letter) => ({ ...letter, redriven: redriven(letter) }));
}

/**
 * Re-applies the chosen dead letters of a use case (one, or a group of failures an operator
 * picked), in their order, through the use case's redrive topic like `redriveDeadLetters`. A
 * letter redriven before, by either way, is not redriven again. Returns how many were.
 */
export async function redriveChosenDeadLetters(options: Omit<RedriveOptions, 'onProgress'> & { readonly letters: readonly DeadLetterPosition[] }): Promise<number> {
  const { broker, naming, service, useCase, logger } = options;
  const { deadLetterTopic, redriveTopic } = topicsOf(naming, service, useCase);
  const chosen = new Set(options.letters.map(positionId));
  const admin = await broker.admin();
  let letters: IncomingMessage[];
  try {
    letters = (await readDeadLetters(admin, naming, service, useCase)).filter((l) => chosen.has(positionId(l)) && !l.redriven);
  } finally {
    await admin.disconnect();
  }
  if (letters.length === 0) return 0;
  const producer = await broker.producer({ idempotent: true });
  try {
    await producer.send(letters.map((letter) => redriveCopy(redriveTopic, letter)));
  } finally {
    await producer.disconnect();
  }
  logger.info('chosen dead letters redriven', { deadLetterTopic, redriveTopic, count: letters.length });
  return letters.length;
}

/**
 * Re-applies a use case's dead letters, in the order they were dead-lettered, by copying them
 * to the use case's own redrive topic (which only that use case reads, through its normal
 * pipeline: inbox, retries, dead letters again if still failing). A cursor group remembers
 * how far redriving got, so each dead letter is redriven once however often this runs; letters
 * redriven one by one (`redriveChosenDeadLetters`) are skipped.
 * Returns how many messages were redriven.
 */
export async function redriveDeadLetters(options: RedriveOptions): Promise<number> {
  const { broker, naming, service, useCase, logger } = options;
  const { deadLetterTopic, redriveTopic } = topicsOf(naming, service, useCase);
  const cursorGroup = cursorGroupOf(naming, service, useCase);

  const admin = await broker.admin();
  let remaining: number;
  let end: bigint;
  let redriven: (p: DeadLetterPosition) => boolean;
  try {
    await assertTopicsExist(admin, service, useCase, [deadLetterTopic, redriveTopic]);
    const [endOffset] = await admin.endOffsets(deadLetterTopic);
    const [committed] = await admin.committedOffsets(cursorGroup, [deadLetterTopic]);
    end = BigInt(endOffset.offset);
    const from = committed && committed.offset !== '-1' ? BigInt(committed.offset) : 0n;
    redriven = await redrivenPositions(admin, naming, service, useCase);
    remaining = 0;
    for (let offset = from; offset < end; offset++) if (!redriven({ partition: endOffset.partition, offset: offset.toString() })) remaining += 1;
  } finally {
    await admin.disconnect();
  }
  if (remaining <= 0) {
    logger.info('no dead letters to redrive', { deadLetterTopic });
    return 0;
  }

  const producer: MessageProducer = await broker.producer({ idempotent: true });
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
                if (!redriven(message)) {
                  await producer.send([redriveCopy(redriveTopic, message)]);
                  done += 1;
                  options.onProgress?.(done, remaining);
                }
                await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(message.offset) + 1n).toString() }]);
                last = message.offset;
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
