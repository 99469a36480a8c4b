/**
 * Kafka's answer to a send, in the shape the library reads a refusal in (outbox/send-failure.ts,
 * the dead-letter writer, core's classifyFailure), which is kafkajs' protocol error's: `type`
 * names the Kafka error code and `retriable` says whether sending again can change the answer.
 */
export class KafkaRefusal extends Error {
  override readonly name = 'KafkaRefusal';

  constructor(
    readonly type: string,
    readonly retriable: boolean,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** What this file reads of @platformatic/kafka's errors (GenericError, MultipleErrors, ProtocolError, UserError). */
interface PlatformaticError {
  readonly code?: unknown;
  readonly apiId?: unknown;
  readonly canRetry?: unknown;
  readonly message: string;
  readonly errors?: readonly unknown[];
}

/**
 * The client reports a topic the cluster does not have (UNKNOWN_TOPIC_OR_PARTITION on its
 * metadata, after its retries) as a UserError with only this message; kafkajs reports the
 * Kafka code, which is what a refused topic is recognised by.
 */
const UNKNOWN_TOPIC = /^Unknown topic .+\.$/;

function protocolErrors(error: unknown, depth = 0): PlatformaticError[] {
  if (!(error instanceof Error) || depth > 5) return [];
  const e = error as PlatformaticError;
  if (e.code === 'PLT_KFK_PROTOCOL' && typeof e.apiId === 'string') return [e];
  return (e.errors ?? []).flatMap((inner) => protocolErrors(inner, depth + 1));
}

/**
 * A failed send's error as a KafkaRefusal when Kafka answered it (the first answer no retry
 * changes, else the first answer); any other failure (connection refused, timeouts) unchanged.
 */
export function asKafkaRefusal(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { code, message } = error as PlatformaticError;
  if (code === 'PLT_KFK_USER' && UNKNOWN_TOPIC.test(message)) return new KafkaRefusal('UNKNOWN_TOPIC_OR_PARTITION', true, message, { cause: error });
  const answers = protocolErrors(error);
  const answer = answers.find((a) => a.canRetry === false) ?? answers[0];
  if (!answer) return error;
  return new KafkaRefusal(answer.apiId as string, answer.canRetry !== false, answer.message, { cause: error });
}
