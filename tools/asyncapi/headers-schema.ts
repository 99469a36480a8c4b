import type { EventClass } from '@platform/contracts';
import { CE, DLQ, type DeadLetterReason } from '@platform/messaging';
import type { JsonSchema } from './json-schema';

const UUID = { type: 'string', format: 'uuid' } as const;

/**
 * The Kafka headers of an event as libs/messaging writes them (CloudEvents Kafka binding,
 * binary mode, see encodeHeaders): the required ones are written on every message, causation
 * and trace context only when there is one. The read step refuses a ce_id that is not a UUID.
 */
export function cloudEventHeaders(event: EventClass, publishers: readonly string[]): JsonSchema {
  // sourceOf() in libs/messaging: the publishing service; a command may have several senders.
  const sources = publishers.map((service) => `/services/${service}`);
  const properties: Record<string, JsonSchema> = {
    [CE.id]: { ...UUID, description: 'CloudEvents id: the event id, unique per event; consumers de-duplicate on it.' },
    [CE.type]: { type: 'string', const: event.contract.ceType, description: 'CloudEvents type: platform.<type>.v<version>.' },
    [CE.source]: { type: 'string', ...(sources.length === 1 ? { const: sources[0] } : { enum: sources }), description: 'CloudEvents source: the publishing service.' },
    [CE.time]: { type: 'string', format: 'date-time', description: 'When the fact happened (event time for windows).' },
    [CE.specversion]: { type: 'string', const: '1.0' },
    [CE.contentType]: { type: 'string', const: 'application/json' },
    [CE.correlationId]: { type: 'string', description: 'Id of the first request or event of the conversation: a request\'s X-Correlation-Id, or the event id.' },
    [CE.causationId]: { type: 'string', description: 'Id of the request or event that directly caused this one; absent when none.' },
    [CE.traceparent]: { type: 'string', pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$', description: 'W3C trace context, when the producer had one.' },
  };
  return {
    type: 'object',
    properties,
    required: [CE.id, CE.type, CE.source, CE.time, CE.specversion, CE.contentType, CE.correlationId],
  };
}

const DEAD_LETTER_REASONS: Record<DeadLetterReason, true> = { 'invalid-payload': true, 'non-retriable': true, 'retries-exhausted': true, 'late-event': true };
const COUNT = { type: 'string', pattern: '^[0-9]+$' } as const;
const TEXT: JsonSchema = { type: 'string' };
/** Headers with more to say than "a string"; every other DLQ header is one. */
const DEAD_LETTER_HEADER_SCHEMAS: Partial<Record<keyof typeof DLQ, JsonSchema>> = {
  reason: { type: 'string', enum: Object.keys(DEAD_LETTER_REASONS) },
  retriable: { type: 'string', enum: ['true', 'false', ''] },
  attempts: COUNT,
  originalPartition: COUNT,
  originalOffset: COUNT,
  failedAt: { type: 'string', format: 'date-time' },
};
const DEAD_LETTER_REQUIRED: readonly (keyof typeof DLQ)[] = ['reason', 'originalTopic', 'originalPartition', 'originalOffset', 'consumerGroup', 'failedAt'];

/**
 * A dead letter: the original message (key, bytes and headers) plus the DLQ headers saying why
 * it failed and where it came from. Its payload is the original bytes, which may be anything
 * for an invalid payload.
 */
export function deadLetterHeaders(): JsonSchema {
  const entries = Object.entries(DLQ) as [keyof typeof DLQ, string][];
  const properties = Object.fromEntries(entries.map(([name, header]) => [header, DEAD_LETTER_HEADER_SCHEMAS[name] ?? TEXT]));
  return { type: 'object', properties, required: DEAD_LETTER_REQUIRED.map((name) => DLQ[name]) };
}
