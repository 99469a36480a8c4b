import { InvalidPayloadError, validateEvent, type EventClass } from '@platform/contracts';
import { decodeHeaders, MalformedMessageError } from '../envelope/cloudevents-headers';
import type { ReceivedEnvelope } from '../envelope/envelope';
import type { IncomingMessage } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';

/** Errors that make a message unusable however often it is tried. */
export function isPoisonMessageError(error: unknown): boolean {
  return error instanceof MalformedMessageError || error instanceof InvalidPayloadError;
}

/**
 * Turns a Kafka message into a validated envelope of one of `events`, or throws a
 * non-retriable MalformedMessageError / InvalidPayloadError saying what is wrong with it.
 */
export function decodeMessage(message: IncomingMessage, events: readonly EventClass[], naming: KafkaNaming, redriveTopic?: string): ReceivedEnvelope {
  const headers = decodeHeaders(message.headers);
  // A redriven dead letter arrives on the use case's own redrive topic: its type says what it is.
  const contractTopic = message.topic === redriveTopic ? undefined : naming.contractTopic(message.topic);
  const event = message.topic === redriveTopic ? events.find((e) => e.contract.ceType === headers.type) : events.find((e) => e.contract.topic === contractTopic);
  if (!event) throw new MalformedMessageError(`no declared event matches topic ${message.topic} and type ${headers.type}`);
  if (headers.type !== event.contract.ceType) {
    throw new MalformedMessageError(`ce_type ${headers.type} does not belong on topic ${message.topic} (expected ${event.contract.ceType})`);
  }
  if (!message.value) throw new MalformedMessageError('message has no value');
  let plain: unknown;
  try {
    plain = JSON.parse(message.value.toString('utf8'));
  } catch (error) {
    throw new MalformedMessageError(`value is not JSON: ${(error as Error).message}`);
  }
  const result = validateEvent(event, plain);
  if (!result.ok) throw new InvalidPayloadError(event.contract.type, result.errors);
  return {
    ...headers,
    key: message.key ?? event.contract.key(result.value),
    payload: result.value,
    event,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
  };
}
