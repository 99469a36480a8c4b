import { classifyFailure } from '@platform/core';

/**
 * What a failed send says about the rows in it. Only an answer from Kafka about the request
 * (a protocol error) can be a row's fault; everything else (connection refused, timeouts, the
 * producer's own state) means Kafka is away or busy, and the rows wait however long it takes.
 */
export type SendVerdict =
  /** Kafka refuses the topic: every row of it would be refused again (topic gone, not authorized). */
  | 'topic-refused'
  /** Kafka refuses a record of the request (too large for the topic, invalid): sent again, it is refused again. */
  | 'record-refused'
  /** Nobody's fault but the infrastructure's: the rows stay in the outbox, nothing counts against them. */
  | 'unavailable';

export interface SendFailure {
  readonly verdict: SendVerdict;
  /** The Kafka error code name (MESSAGE_TOO_LARGE, UNKNOWN_TOPIC_OR_PARTITION, ...), else the error's name. */
  readonly errorName: string;
  readonly message: string;
}

/**
 * Refusals of a whole topic. kafkajs flags UNKNOWN_TOPIC_OR_PARTITION retriable (a new topic's
 * metadata may lag) and retries it; when the error still reaches us, the topic is not there.
 */
const TOPIC_REFUSALS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'TOPIC_AUTHORIZATION_FAILED', 'INVALID_TOPIC_EXCEPTION']);

/**
 * Non-retriable answers about the producer session or the cluster, not about the records:
 * every row would get them, so they must never count against a row. A new producer session
 * (the relay starts one after any failure) clears the session ones.
 */
const NOT_THE_ROWS_FAULT = new Set([
  'CLUSTER_AUTHORIZATION_FAILED',
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'UNKNOWN_PRODUCER_ID',
  'PRODUCER_FENCED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_TXN_STATE',
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
  'UNSUPPORTED_VERSION',
  'INVALID_REQUIRED_ACKS',
  'INVALID_REQUEST',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'THROTTLING_QUOTA_EXCEEDED',
]);

/** kafkajs wraps the error that made it give up (after its retries, or at once when not retriable). */
const WRAPPERS = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError']);

export function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error && WRAPPERS.has(current.name) && current.cause instanceof Error; depth++) {
    current = current.cause;
  }
  return current;
}

export function judgeSendFailure(error: unknown): SendFailure {
  const root = rootCause(error);
  const message = root instanceof Error ? root.message : String(root);
  const type = (root as { type?: unknown } | undefined)?.type;
  if (typeof type !== 'string') return { verdict: 'unavailable', errorName: root instanceof Error ? root.name : 'Error', message };
  const failure = (verdict: SendVerdict): SendFailure => ({ verdict, errorName: type, message });
  if (NOT_THE_ROWS_FAULT.has(type)) return failure('unavailable');
  if (TOPIC_REFUSALS.has(type)) return failure('topic-refused');
  // Any other answer Kafka says will not change (MESSAGE_TOO_LARGE, INVALID_RECORD, POLICY_VIOLATION, ...).
  if (classifyFailure(root) === 'permanent') return failure('record-refused');
  return failure('unavailable');
}
