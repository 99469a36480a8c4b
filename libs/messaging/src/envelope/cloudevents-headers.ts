import type { EventEnvelope } from './envelope';

/** CloudEvents Kafka protocol binding, binary mode: attributes travel as `ce_` headers. */
export const CE = {
  id: 'ce_id',
  type: 'ce_type',
  source: 'ce_source',
  time: 'ce_time',
  specversion: 'ce_specversion',
  contentType: 'content-type',
  correlationId: 'ce_correlationid',
  causationId: 'ce_causationid',
  traceparent: 'traceparent',
} as const;

export const SPEC_VERSION = '1.0';
export const JSON_CONTENT_TYPE = 'application/json';

export function encodeHeaders(envelope: Omit<EventEnvelope, 'payload' | 'event' | 'key'>): Record<string, string> {
  const headers: Record<string, string> = {
    [CE.id]: envelope.id,
    [CE.type]: envelope.type,
    [CE.source]: envelope.source,
    [CE.time]: envelope.time,
    [CE.specversion]: SPEC_VERSION,
    [CE.contentType]: JSON_CONTENT_TYPE,
    [CE.correlationId]: envelope.correlationId,
  };
  if (envelope.causationId) headers[CE.causationId] = envelope.causationId;
  if (envelope.traceparent) headers[CE.traceparent] = envelope.traceparent;
  return headers;
}

export interface DecodedHeaders {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly traceparent?: string;
}

export class MalformedMessageError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'MalformedMessageError';
  }
}

export function decodeHeaders(headers: Readonly<Record<string, string>>): DecodedHeaders {
  const missing = [CE.id, CE.type, CE.source, CE.time, CE.specversion].filter((h) => !headers[h]);
  if (missing.length > 0) throw new MalformedMessageError(`missing CloudEvents headers: ${missing.join(', ')}`);
  if (headers[CE.specversion] !== SPEC_VERSION) throw new MalformedMessageError(`unsupported ce_specversion ${headers[CE.specversion]}`);
  const contentType = headers[CE.contentType];
  if (contentType && !contentType.startsWith(JSON_CONTENT_TYPE)) throw new MalformedMessageError(`unsupported content-type ${contentType}`);
  if (Number.isNaN(Date.parse(headers[CE.time]))) throw new MalformedMessageError(`ce_time is not a timestamp: ${headers[CE.time]}`);
  return {
    id: headers[CE.id],
    type: headers[CE.type],
    source: headers[CE.source],
    time: headers[CE.time],
    correlationId: headers[CE.correlationId] ?? headers[CE.id],
    causationId: headers[CE.causationId] ?? null,
    traceparent: headers[CE.traceparent],
  };
}
