import { ROOT_CONTEXT, trace, type Context, type Span, type SpanContext } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent } from './traceparent';

/**
 * OpenTelemetry's view of the W3C `traceparent` our messages and requests carry. The header is
 * read and written here rather than through the API's global propagator: that one is a no-op
 * until an SDK registers another, and the outbox keeps a `traceparent` whether or not one does.
 */

/** The remote span a `traceparent` names; undefined when it is missing or invalid. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const fields = parseTraceparent(traceparent);
  return fields && { traceId: fields.traceId, spanId: fields.parentId, traceFlags: fields.flags, isRemote: true };
}

/** A context whose parent span is the one `traceparent` names: the root context when there is none. */
export function contextOf(traceparent: string | undefined): Context {
  const parent = spanContextOf(traceparent);
  return parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
}

/**
 * The `traceparent` that carries `span` onward: its own when it is recorded, otherwise
 * `fallback`. Without an SDK every span is the API's non-recording one, so what was received
 * goes on unchanged, as it did before there were spans.
 */
export function traceparentOf(span: Span, fallback: string | undefined): string | undefined {
  if (!span.isRecording()) return fallback;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return formatTraceparent(traceId, spanId, traceFlags);
}
