import { InvalidPayloadError, UpcastError, validateEvent, type ReadableEvents } from '@platform/contracts';
import { decodeHeaders, MalformedMessageError } from '../envelope/cloudevents-headers';
import type { ReceivedEnvelope } from '../envelope/envelope';
import type { IncomingMessage } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';

/** Errors that make a message unusable however often it is tried. */
export function isPoisonMessageError(error: unknown): boolean {
  return error instanceof MalformedMessageError || error instanceof InvalidPayloadError || error instanceof UpcastError;
}

/** RFC 3339 years, 0001 to 9999: what PostgreSQL timestamps and every consumer's clock arithmetic can hold. */
const EARLIEST_TIME = Date.parse('0001-01-01T00:00:00Z');
const LATEST_TIME = Date.parse('9999-12-31T23:59:59.999Z');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** U+0000 and unpaired surrogates: PostgreSQL text and jsonb refuse them, so no handler could ever store the event. */
// eslint-disable-next-line no-control-regex -- finding U+0000 is the point
export const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;


/** The first string inside `value` (keys included) that PostgreSQL cannot store, as a path. */
function unstorablePath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return UNSTORABLE_TEXT.test(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, inner] of Object.entries(value)) {
    if (UNSTORABLE_TEXT.test(key)) return `${path}[${JSON.stringify(key)}]`;
    const found = unstorablePath(inner, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * The one step every use case, per event or windowed, runs on a Kafka message before anything
 * else: decode the CloudEvents headers, find the event for the topic (a declared version or an
 * older one), parse and validate the payload against the version on the wire, upcast it to the
 * declared version, and check that the inbox, the window store and the handler's tables can
 * hold what it carries. Returns the envelope, or throws a non-retriable MalformedMessageError /
 * InvalidPayloadError / UpcastError saying what is wrong, so the message goes straight to the
 * dead-letter topic with that reason instead of failing later, over and over, where a retry
 * cannot help.
 */
export function readMessage(message: IncomingMessage, events: ReadableEvents, naming: KafkaNaming, redriveTopic?: string): ReceivedEnvelope {
  const headers = decodeHeaders(message.headers);
  if (!UUID.test(headers.id)) throw new MalformedMessageError(`ce_id is not a UUID: ${JSON.stringify(headers.id.slice(0, 80))}`);
  const time = Date.parse(headers.time);
  if (!(time >= EARLIEST_TIME && time <= LATEST_TIME)) throw new MalformedMessageError(`ce_time is outside the years 0001 to 9999: ${headers.time.slice(0, 40)}`);
  const badHeader = Object.entries(message.headers).find(([name, value]) => UNSTORABLE_TEXT.test(name) || UNSTORABLE_TEXT.test(value));
  if (badHeader) throw new MalformedMessageError(`header ${JSON.stringify(badHeader[0])} holds U+0000 or an unpaired surrogate`);
  if (message.key !== null && UNSTORABLE_TEXT.test(message.key)) throw new MalformedMessageError('the key holds U+0000 or an unpaired surrogate');
  // A redriven dead letter arrives on the use case's own redrive topic: its type says what it is.
  const redriven = message.topic === redriveTopic;
  const contractTopic = redriven ? undefined : naming.contractTopic(message.topic);
  const wire = redriven ? events.forCeType(headers.type) : contractTopic === undefined ? undefined : events.forTopic(contractTopic);
  if (!wire) throw new MalformedMessageError(`no declared event matches topic ${message.topic} and type ${headers.type}`);
  if (headers.type !== wire.contract.ceType) {
    throw new MalformedMessageError(`ce_type ${headers.type} does not belong on topic ${message.topic} (expected ${wire.contract.ceType})`);
  }
  if (!message.value || message.value.length === 0) throw new MalformedMessageError('message has no value');
  let plain: unknown;
  try {
    plain = JSON.parse(message.value.toString('utf8'));
  } catch (error) {
    throw new MalformedMessageError(`value is not JSON: ${(error as Error).message}`);
  }
  const unstorable = unstorablePath(plain, '$');
  if (unstorable) throw new MalformedMessageError(`payload ${unstorable} holds U+0000 or an unpaired surrogate`);
  const result = validateEvent(wire, plain);
  if (!result.ok) throw new InvalidPayloadError(wire.contract.type, result.errors);
  const { event, payload } = events.upcast(wire, result.value);
  return {
    ...headers,
    type: event.contract.ceType,
    key: message.key ?? event.contract.key(payload),
    payload,
    event,
    ...(event === wire ? {} : { upcastFrom: { type: wire.contract.ceType, version: wire.contract.version } }),
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
  };
}
