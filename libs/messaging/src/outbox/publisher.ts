import { randomUUID } from 'node:crypto';
import { assertValidEvent, type EventClass } from '@platform/contracts';
import { encodeHeaders } from '../envelope/cloudevents-headers';
import { sourceOf, type EventEnvelope, type EventMetadata } from '../envelope/envelope';
import { currentLogContext, sendWithCommit, sqlLiteral, type SqlClient } from '@platform/core';

/** Rows per INSERT: a statement of about 1.5 MB for 1 KiB events. */
const ROWS_PER_INSERT = 1000;

export interface PendingEvent<T extends object = object> {
  readonly event: EventClass<T>;
  readonly payload: T;
  readonly metadata?: EventMetadata;
}

/** Outbox rows by column: event ids, topics, message keys, headers (JSON), payloads (JSON). */
export interface OutboxColumns {
  readonly ids: string[];
  readonly topics: string[];
  readonly keys: string[];
  readonly headers: string[];
  readonly payloads: string[];
}

/** An envelope's outbox row: event_id, topic, message_key, headers, payload. */
function outboxRow(envelope: EventEnvelope, payload: object): [string, string, string, string, string] {
  const { payload: _payload, event, key, ...attributes } = envelope;
  return [envelope.id, event.contract.topic, key, JSON.stringify(encodeHeaders(attributes)), JSON.stringify(payload)];
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

  /**
   * One event in several versions of its type side by side, while its consumers move from one
   * to the next: one event id, time and correlation for all, so a consumer that reads more than
   * one of them (a newer version reads the older ones upcast) records the id once in its inbox
   * and handles the event once.
   */
  async publishVersions(tx: SqlClient, versions: readonly Omit<PendingEvent, 'metadata'>[], metadata: EventMetadata = {}): Promise<EventEnvelope[]> {
    const types = new Set(versions.map((v) => v.event.contract.type));
    const numbers = new Set(versions.map((v) => v.event.contract.version));
    if (versions.length === 0 || types.size !== 1 || numbers.size !== versions.length) {
      throw new Error(`publishVersions takes distinct versions of one event type, got ${versions.map((v) => `${v.event.contract.type} v${v.event.contract.version}`).join(', ') || 'none'}`);
    }
    const shared: EventMetadata = { ...metadata, id: metadata.id ?? randomUUID(), time: metadata.time ?? new Date() };
    return this.publishAll(tx, versions.map(({ event, payload }) => ({ event, payload, metadata: shared })));
  }

  /**
   * Several events in one INSERT; they keep the given order in the outbox. In a transaction of
   * withTransaction or withOpenedTransaction the INSERT travels with its COMMIT (sendWithCommit),
   * so publishing costs the transaction no round trip; in the caller's own it runs now.
   */
  async publishAll(tx: SqlClient, events: readonly PendingEvent[]): Promise<EventEnvelope[]> {
    const envelopes = events.map((pending) => this.envelope(pending));
    for (let start = 0; start < envelopes.length; start += ROWS_PER_INSERT) {
      const rows = envelopes.slice(start, start + ROWS_PER_INSERT).map((e, i) => `(${outboxRow(e, events[start + i].payload).map(sqlLiteral).join(', ')})`);
      const statement = `INSERT INTO messaging.outbox (event_id, topic, message_key, headers, payload) VALUES ${rows.join(', ')}`;
      if (!sendWithCommit(tx, statement)) await tx.query(statement);
    }
    return envelopes;
  }

  /**
   * The events' outbox rows as columns, checked as publishAll checks them, for a statement that
   * inserts them together with other writes (`unnest`): the saga timeout firer's batches.
   */
  outboxColumns(events: readonly PendingEvent[]): OutboxColumns {
    const columns: OutboxColumns = { ids: [], topics: [], keys: [], headers: [], payloads: [] };
    for (const pending of events) {
      const [id, topic, key, headers, payload] = outboxRow(this.envelope(pending), pending.payload);
      columns.ids.push(id);
      columns.topics.push(topic);
      columns.keys.push(key);
      columns.headers.push(headers);
      columns.payloads.push(payload);
    }
    return columns;
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
      // Without one given, the trace of the request or message being handled goes on with the event.
      traceparent: metadata.traceparent ?? currentLogContext()?.traceparent,
      key: event.contract.key(value),
      payload: value,
      event,
    };
  }
}
