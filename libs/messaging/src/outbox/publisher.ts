import { randomUUID } from 'node:crypto';
import { assertValidEvent, type EventClass } from '@platform/contracts';
import { encodeHeaders } from '../envelope/cloudevents-headers';
import { sourceOf, type EventEnvelope, type EventMetadata } from '../envelope/envelope';
import type { SqlClient } from '@platform/core';

/** PostgreSQL allows 65,535 bind parameters per statement; five per row. */
const ROWS_PER_INSERT = 1000;

export interface PendingEvent<T extends object = object> {
  readonly event: EventClass<T>;
  readonly payload: T;
  readonly metadata?: EventMetadata;
}

/**
 * Publishing = inserting into the outbox inside the caller's transaction. Nothing touches
 * Kafka here, so there is no dual write: the event exists exactly when the state change does.
 */
export class OutboxPublisher {
  readonly source: string;
  private readonly allowed?: ReadonlySet<EventClass>;

  /**
   * @param publishes the events this service declares it publishes; anything else is refused,
   *   so the declaration (which the generated Kafka ACLs follow) cannot drift from the code.
   */
  constructor(readonly service: string, publishes?: readonly EventClass[]) {
    this.source = sourceOf(service);
    this.allowed = publishes ? new Set(publishes) : undefined;
  }

  async publish<T extends object>(tx: SqlClient, event: EventClass<T>, payload: T, metadata: EventMetadata = {}): Promise<EventEnvelope<T>> {
    const [envelope] = await this.publishAll(tx, [{ event, payload, metadata }]);
    return envelope as EventEnvelope<T>;
  }

  /** Several events in one INSERT; they keep the given order in the outbox. */
  async publishAll(tx: SqlClient, events: readonly PendingEvent[]): Promise<EventEnvelope[]> {
    const envelopes = events.map((pending) => this.envelope(pending));
    for (let start = 0; start < envelopes.length; start += ROWS_PER_INSERT) {
      const chunk = envelopes.slice(start, start + ROWS_PER_INSERT);
      const values: unknown[] = [];
      const rows = chunk.map((e, i) => {
        const { payload: _payload, event: _event, key: _key, ...attributes } = e;
        values.push(e.id, e.event.contract.topic, e.key, JSON.stringify(encodeHeaders(attributes)), JSON.stringify(events[start + i].payload));
        const p = i * 5;
        return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5})`;
      });
      await tx.query(`INSERT INTO messaging.outbox (event_id, topic, message_key, headers, payload) VALUES ${rows.join(', ')}`, values);
    }
    return envelopes;
  }

  private envelope<T extends object>({ event, payload, metadata = {} }: PendingEvent<T>): EventEnvelope<T> {
    if (this.allowed && !this.allowed.has(event as EventClass)) {
      throw new Error(`${this.service} does not declare that it publishes ${event.contract.type}; add it to its publishes list`);
    }
    const value = assertValidEvent(event, payload);
    const id = metadata.id ?? randomUUID();
    return {
      id,
      type: event.contract.ceType,
      source: this.source,
      time: (metadata.time ?? new Date()).toISOString(),
      correlationId: metadata.correlationId ?? id,
      causationId: metadata.causationId ?? null,
      traceparent: metadata.traceparent,
      key: event.contract.key(value),
      payload: value,
      event,
    };
  }
}
