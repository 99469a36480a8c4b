import type { EventClass } from '@platform/contracts';

/**
 * One event as it travels: CloudEvents attributes, our correlation and causation ids, the
 * Kafka key and the validated payload.
 */
export interface EventEnvelope<T extends object = object> {
  readonly id: string;
  /** CloudEvents type, from the contract (its `ceType`). */
  readonly type: string;
  /** CloudEvents source: `/services/<service>`. */
  readonly source: string;
  /** When the fact happened (ISO 8601); event time for windows. */
  readonly time: string;
  /** Id of the first event or request of the conversation this event belongs to. */
  readonly correlationId: string;
  /** Id of the event or request that directly caused this one; null when none. */
  readonly causationId: string | null;
  /** W3C trace context, carried when the producer had one. */
  readonly traceparent?: string;
  readonly key: string;
  readonly payload: T;
  readonly event: EventClass<T>;
}

/** An envelope read from Kafka, with where it was read. */
export interface ReceivedEnvelope<T extends object = object> extends EventEnvelope<T> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /**
   * Set when an older version of the event was on the wire and was upcast to the declared one
   * (`event`, `type` and `payload` are the declared version's): that version's CloudEvents type
   * and number. Absent when the declared version itself was read.
   */
  readonly upcastFrom?: UpcastOrigin;
}

/** The version an upcast event had on the wire. Plain data (a type alias: JSON-compatible), so it survives being stored with the envelope. */
export type UpcastOrigin = { readonly type: string; readonly version: number };

export interface EventMetadata {
  readonly id?: string;
  readonly time?: Date;
  readonly correlationId?: string;
  readonly causationId?: string | null;
  readonly traceparent?: string;
}

/** Narrows an envelope of a multi-event use case to one event type. */
export function isEvent<T extends object>(envelope: EventEnvelope, event: EventClass<T>): envelope is EventEnvelope<T> {
  return envelope.event === (event as EventClass);
}

export function sourceOf(service: string): string {
  return `/services/${service}`;
}
