import { InvalidPayloadError, validateEvent, type EventClass } from '@platform/contracts';
import { decodeHeaders, MalformedMessageError } from '../envelope/cloudevents-headers';
import type { ReceivedEnvelope } from '../envelope/envelope';
import type { IncomingMessage } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';

/**
 * Turns a Kafka message into a validated envelope of one of `events`, or throws a
 * non-retriable MalformedMessageError / InvalidPayloadError saying what is wrong with it.
 */
export function decodeMessage(message: IncomingMessage, events: readonly EventClass[], naming: KafkaNaming): ReceivedEnvelope {
  const contractTopic = naming.contractTopic(message.topic);
  const event = events.find((e) => e.contract.topic === contractTopic);
  if (!event) throw new MalformedMessageError(`no declared event is published on topic ${message.topic}`);
  const headers = decodeHeaders(message.headers);
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
