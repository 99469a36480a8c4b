import { randomUUID } from 'node:crypto';
import type { Logger, SqlClient } from '@platform/core';
import { encodeHeaders } from '../envelope/cloudevents-headers';
import type { ReceivedEnvelope } from '../envelope/envelope';
import type { IncomingMessage, MessageProducer } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';
import { UNSTORABLE_TEXT } from './read-message';

export type DeadLetterReason = 'invalid-payload' | 'non-retriable' | 'retries-exhausted' | 'late-event';

export interface DeadLetterFailure {
  readonly reason: DeadLetterReason;
  readonly error?: unknown;
  readonly attempts: number;
}

/** Headers a dead letter carries beside the original ones: why, how often, and from where. */
export const DLQ = {
  reason: 'dlq_reason',
  errorMessage: 'dlq_error_message',
  errorName: 'dlq_error_name',
  errorStack: 'dlq_error_stack',
  retriable: 'dlq_error_retriable',
  attempts: 'dlq_attempts',
  originalTopic: 'dlq_original_topic',
  originalPartition: 'dlq_original_partition',
  originalOffset: 'dlq_original_offset',
  consumerGroup: 'dlq_consumer_group',
  failedAt: 'dlq_failed_at',
} as const;

const MAX_STACK = 8 * 1024;

export function deadLetterHeaders(message: IncomingMessage, group: string, failure: DeadLetterFailure): Record<string, string> {
  const error = failure.error instanceof Error ? failure.error : failure.error === undefined ? undefined : new Error(String(failure.error));
  const previous = Object.fromEntries(Object.entries(message.headers).filter(([name]) => !name.startsWith('dlq_')));
  return {
    ...previous,
    [DLQ.reason]: failure.reason,
    [DLQ.errorMessage]: error?.message ?? failure.reason,
    [DLQ.errorName]: error?.name ?? '',
    [DLQ.errorStack]: (error?.stack ?? '').slice(0, MAX_STACK),
    [DLQ.retriable]: String((error as { retriable?: boolean } | undefined)?.retriable ?? ''),
    [DLQ.attempts]: String(failure.attempts),
    // A redriven message keeps pointing at where it first came from.
    [DLQ.originalTopic]: message.headers[DLQ.originalTopic] ?? message.topic,
    [DLQ.originalPartition]: message.headers[DLQ.originalPartition] ?? String(message.partition),
    [DLQ.originalOffset]: message.headers[DLQ.originalOffset] ?? message.offset,
    [DLQ.consumerGroup]: group,
    [DLQ.failedAt]: new Date().toISOString(),
  };
}

/**
 * An event read earlier and stored (a window's staged events) as the message it came in: its
 * key, its payload and its CloudEvents headers, trace context included.
 */
export function messageOf(envelope: Omit<ReceivedEnvelope, 'event' | 'payload'> & { payload: unknown }): IncomingMessage {
  return {
    topic: envelope.topic,
    partition: envelope.partition,
    offset: envelope.offset,
    key: envelope.key,
    value: Buffer.from(JSON.stringify(envelope.payload)),
    headers: encodeHeaders(envelope),
    timestamp: Date.parse(envelope.time),
  };
}

/** jsonb refuses U+0000 and unpaired surrogates, which an error message may hold. */
const storableText = (text: string) => text.replace(new RegExp(UNSTORABLE_TEXT.source, 'g'), '\ufffd');

/**
 * Dead-letters messages through the outbox, in the caller's transaction: they reach the
 * dead-letter topic if and only if the transaction commits, so giving up on work (a window)
 * and recording that it was given up on cannot disagree, whatever crashes in between.
 */
export async function deadLetterInTransaction(
  tx: SqlClient,
  naming: KafkaNaming,
  deadLetterTopic: string,
  group: string,
  messages: readonly IncomingMessage[],
  failure: DeadLetterFailure,
): Promise<void> {
  if (messages.length === 0) return;
  const topic = naming.contractTopic(deadLetterTopic) ?? deadLetterTopic;
  const headers = messages.map((m) => Object.fromEntries(Object.entries(deadLetterHeaders(m, group, failure)).map(([k, v]) => [k, storableText(v)])));
  await tx.query(
    `INSERT INTO messaging.outbox (event_id, topic, message_key, headers, payload)
     SELECT id, $1, k, h, p FROM unnest($2::uuid[], $3::text[], $4::jsonb[], $5::text[]) AS x(id, k, h, p)`,
    [topic, messages.map(() => randomUUID()), messages.map((m) => m.key ?? ''), headers.map((h) => JSON.stringify(h)), messages.map((m) => (m.value ?? Buffer.alloc(0)).toString('utf8'))],
  );
}

/**
 * Sends events a use case gave up on to its dead-letter topic: the original key and bytes,
 * the original headers, and the failure in `dlq_*` headers. Resolves only once Kafka has the
 * message; the caller keeps the offset uncommitted until then.
 */
export class DeadLetterWriter {
  private producer?: Promise<MessageProducer>;

  constructor(
    private readonly producerFactory: () => Promise<MessageProducer>,
    private readonly logger: Logger,
  ) {}

  async send(topic: string, group: string, message: IncomingMessage, failure: DeadLetterFailure): Promise<void> {
    this.producer ??= this.producerFactory();
    try {
      const producer = await this.producer;
      await producer.send([{ topic, key: message.key ?? '', value: message.value ?? Buffer.alloc(0), headers: deadLetterHeaders(message, group, failure) }]);
    } catch (error) {
      const broken = this.producer;
      this.producer = undefined;
      void broken?.then((p) => p.disconnect()).catch(() => undefined);
      throw error;
    }
    this.logger.warn('event dead-lettered', {
      group,
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      reason: failure.reason,
      attempts: failure.attempts,
      error: failure.error instanceof Error ? failure.error.message : undefined,
    });
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }
}
