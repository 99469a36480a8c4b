import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Link, type Span } from '@opentelemetry/api';
import { contextOf, spanContextOf } from '@platform/core';
import type { ReceivedEnvelope } from '../envelope/envelope';

/**
 * The messaging library's spans, by OpenTelemetry's messaging semantic conventions (Kafka):
 * a "send" span per message the relay produces, whose context the message carries (it is the
 * creation context: no "create" span), and a "process" span per handled message (its parent and
 * link: that context) or per window (links to each event's). Through the API only: without an
 * SDK registered, every span is the API's non-recording one and nothing is kept.
 */
const tracer = trace.getTracer('@platform/messaging');

const KAFKA = 'kafka';

/** What the relay knows of a message it sends. */
export interface SentMessage {
  readonly topic: string;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A "send <topic>" span (PRODUCER) for one message, a child of the context its outbox row kept. */
export function startSendSpan(message: SentMessage): Span {
  const attributes: Attributes = {
    'messaging.system': KAFKA,
    'messaging.operation.name': 'send',
    'messaging.operation.type': 'send',
    'messaging.destination.name': message.topic,
    'messaging.kafka.message.key': message.key,
    'messaging.message.id': message.headers['ce_id'],
    'messaging.message.conversation_id': message.headers['ce_correlationid'],
  };
  return tracer.startSpan(`send ${message.topic}`, { kind: SpanKind.PRODUCER, attributes }, contextOf(message.headers['traceparent']));
}

/**
 * A "process <topic>" span (CONSUMER) for one message a use case handles: a child of the
 * message's creation context, and linked to it as the conventions ask of every process span.
 */
export function startProcessSpan(group: string, envelope: ReceivedEnvelope): Span {
  const creation = spanContextOf(envelope.traceparent);
  const attributes: Attributes = {
    'messaging.system': KAFKA,
    'messaging.operation.name': 'process',
    'messaging.operation.type': 'process',
    'messaging.destination.name': envelope.topic,
    'messaging.destination.partition.id': String(envelope.partition),
    'messaging.consumer.group.name': group,
    'messaging.kafka.offset': Number(envelope.offset),
    'messaging.kafka.message.key': envelope.key,
    'messaging.message.id': envelope.id,
    'messaging.message.conversation_id': envelope.correlationId,
  };
  return tracer.startSpan(
    `process ${envelope.topic}`,
    { kind: SpanKind.CONSUMER, attributes, links: creation ? [{ context: creation }] : [] },
    contextOf(envelope.traceparent),
  );
}

/** What a window span needs of the window's events. */
type WindowEvent = Pick<ReceivedEnvelope, 'topic' | 'traceparent'>;

/**
 * A "process <topic>" span (CONSUMER) for one window: its events came in many traces, so it
 * starts a trace of its own and links to each event's creation context (the SDK keeps up to
 * 128 links by default).
 */
export function startWindowSpan(group: string, window: { readonly key: string; readonly start: Date; readonly end: Date; readonly events: readonly WindowEvent[] }): Span {
  const topics = [...new Set(window.events.map((e) => e.topic))];
  const links: Link[] = [];
  for (const event of window.events) {
    const creation = spanContextOf(event.traceparent);
    if (creation) links.push({ context: creation });
  }
  const attributes: Attributes = {
    'messaging.system': KAFKA,
    'messaging.operation.name': 'process',
    'messaging.operation.type': 'process',
    'messaging.consumer.group.name': group,
    'messaging.batch.message_count': window.events.length,
    'platform.window.key': window.key,
    'platform.window.start': window.start.toISOString(),
    'platform.window.end': window.end.toISOString(),
  };
  // One topic names the destination; a window over several has none that is low-cardinality.
  if (topics.length === 1) attributes['messaging.destination.name'] = topics[0];
  return tracer.startSpan(topics.length === 1 ? `process ${topics[0]}` : 'process', { kind: SpanKind.CONSUMER, attributes, links, root: true });
}

/** Runs `work` with `span` as the active span: spans started meanwhile (a database driver's) are its children. */
export function withSpan<T>(span: Span, work: () => T): T {
  return context.with(trace.setSpan(context.active(), span), work);
}

/** Ends `span`, as failed when `error` is given: status ERROR, `error.type` and the exception. */
export function endSpan(span: Span, error?: unknown, errorType?: string): void {
  if (error !== undefined && span.isRecording()) {
    const name = errorType ?? (error instanceof Error ? error.name : '_OTHER');
    span.setAttribute('error.type', name);
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/**
 * The process spans of one transaction: they end when it does, as failed when it rolls back
 * (their handlers' effects went with it, even those that did not throw).
 */
export class TransactionSpans {
  private readonly spans: Span[] = [];

  add(span: Span): Span {
    this.spans.push(span);
    return span;
  }

  /** Ends every span added so far; as failed with `error` when given. */
  end(error?: unknown): void {
    for (const span of this.spans.splice(0)) endSpan(span, error);
  }

  /** Ends the spans once `transaction` settles: committed, or rolled back with its error. */
  async endWith<T>(transaction: Promise<T>): Promise<T> {
    try {
      const result = await transaction;
      this.end();
      return result;
    } catch (error) {
      this.end(error);
      throw error;
    }
  }
}
