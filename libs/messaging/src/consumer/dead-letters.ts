import type { IncomingMessage, MessageProducer } from '../kafka/broker';
import type { Logger } from '@platform/core';

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
