import { randomUUID } from 'node:crypto';
import { classifyFailure, errorMessage, RetriableError, type Logger, type SqlClient } from '@platform/core';
import { encodeHeaders } from '../envelope/cloudevents-headers';
import type { ReceivedEnvelope } from '../envelope/envelope';
import type { IncomingMessage, MessageProducer, OutgoingMessage } from '../kafka/broker';
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
  /** Only when the writer is told to (DEAD_LETTER_STACKS=true): a stack shows code paths to whoever reads the topic. */
  errorStack: 'dlq_error_stack',
  retriable: 'dlq_error_retriable',
  attempts: 'dlq_attempts',
  originalTopic: 'dlq_original_topic',
  originalPartition: 'dlq_original_partition',
  originalOffset: 'dlq_original_offset',
  consumerGroup: 'dlq_consumer_group',
  failedAt: 'dlq_failed_at',
  /** On a redriven copy: the dead letter it copies (`<partition>:<offset>` of the dead-letter topic), so it is redriven once. */
  redrivenFrom: 'dlq_redriven_from',
  /** Set when Kafka refused the letter with its bytes: why, and how many bytes the original had (it stays at its original offset). */
  valueOmitted: 'dlq_value_omitted',
} as const;

/** Header values of a letter that Kafka refused whole are cut to this many characters. */
const SLIM_HEADER_CHARS = 1024;

const MAX_STACK = 8 * 1024;

export interface DeadLetterOptions {
  /** Whether letters carry the error's stack trace (dlq_error_stack); off by default. */
  readonly stacks?: boolean;
}

export function deadLetterHeaders(message: IncomingMessage, group: string, failure: DeadLetterFailure, options: DeadLetterOptions = {}): Record<string, string> {
  const error = failure.error instanceof Error ? failure.error : failure.error === undefined ? undefined : new Error(String(failure.error));
  const previous = Object.fromEntries(Object.entries(message.headers).filter(([name]) => !name.startsWith('dlq_')));
  return {
    ...previous,
    [DLQ.reason]: failure.reason,
    [DLQ.errorMessage]: error?.message ?? failure.reason,
    [DLQ.errorName]: error?.name ?? '',
    ...(options.stacks ? { [DLQ.errorStack]: (error?.stack ?? '').slice(0, MAX_STACK) } : {}),
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
  options: DeadLetterOptions = {},
): Promise<void> {
  if (messages.length === 0) return;
  const topic = naming.contractTopic(deadLetterTopic) ?? deadLetterTopic;
  const headers = messages.map((m) => Object.fromEntries(Object.entries(deadLetterHeaders(m, group, failure, options)).map(([k, v]) => [k, storableText(v)])));
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
  private closed = false;

  constructor(
    private readonly producerFactory: () => Promise<MessageProducer>,
    private readonly logger: Logger,
    /** Also what the letters written through the outbox (windows, saga timeouts) follow. */
    readonly options: DeadLetterOptions = {},
  ) {}

  async send(topic: string, group: string, message: IncomingMessage, failure: DeadLetterFailure): Promise<void> {
    const headers = deadLetterHeaders(message, group, failure, this.options);
    try {
      await this.produce({ topic, key: message.key ?? '', value: message.value ?? Buffer.alloc(0), headers });
    } catch (error) {
      if (classifyFailure(error) !== 'permanent') throw error;
      // Kafka refuses this letter however often it is sent (too large, most likely: the original
      // bytes plus the failure's headers). A letter without the bytes and with short headers still
      // says what failed and where the original is, instead of holding the partition forever.
      const slim = Object.fromEntries(
        Object.entries(headers)
          .filter(([k]) => k !== DLQ.errorStack)
          .map(([k, v]) => [k, v.slice(0, SLIM_HEADER_CHARS)]),
      );
      slim[DLQ.valueOmitted] = `${message.value?.length ?? 0} bytes; the letter with them was refused: ${errorMessage(error)}`.slice(0, SLIM_HEADER_CHARS);
      await this.produce({ topic, key: (message.key ?? '').slice(0, SLIM_HEADER_CHARS), value: Buffer.alloc(0), headers: slim });
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

  private async produce(letter: OutgoingMessage): Promise<void> {
    // Closed: a send still under way after a stop's deadline must not open a session nobody closes.
    if (this.closed) throw new RetriableError('the dead-letter writer is closed');
    const pending = (this.producer ??= this.producerFactory());
    try {
      await (await pending).send([letter]);
    } catch (error) {
      // A refusal of this letter says nothing about the session; anything else may: start a new one.
      if (classifyFailure(error) !== 'permanent' && this.producer === pending) {
        this.producer = undefined;
        void pending.then((p) => p.disconnect()).catch(() => undefined);
      }
      throw error;
    }
  }

  /** Takes letters again after close() (a service's messaging restarted after a failed start). */
  reopen(): void {
    this.closed = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    const producer = this.producer;
    this.producer = undefined;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }
}
