import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { contextOf, spanContextOf, traceparentOf } from './trace-context';
import { formatTraceparent, parseTraceparent } from './traceparent';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

describe('traceparent fields', () => {
  it('parses the trace id, parent id and flags, and writes them back', () => {
    expect(parseTraceparent(TRACEPARENT)).toEqual({ traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 });
    expect(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`)?.flags).toBe(0);
    expect(parseTraceparent(`00-${TRACE_ID}-${'0'.repeat(16)}-01`)).toBeUndefined();
    expect(formatTraceparent(TRACE_ID, PARENT_ID, 1)).toBe(TRACEPARENT);
    expect(formatTraceparent(TRACE_ID, PARENT_ID, 0)).toBe(`00-${TRACE_ID}-${PARENT_ID}-00`);
  });

  it('makes a remote parent of a valid traceparent only', () => {
    expect(spanContextOf(TRACEPARENT)).toEqual({ traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1, isRemote: true });
    expect(spanContextOf('garbage')).toBeUndefined();
    expect(contextOf(undefined)).toBe(ROOT_CONTEXT);
    expect(trace.getSpanContext(contextOf(TRACEPARENT))).toEqual(spanContextOf(TRACEPARENT));
  });
});

describe('the traceparent a span carries onward', () => {
  it('is what was received while no SDK is registered: the API records nothing', () => {
    const span = trace.getTracer('test').startSpan('work', {}, contextOf(TRACEPARENT));
    expect(span.isRecording()).toBe(false);
    expect(traceparentOf(span, TRACEPARENT)).toBe(TRACEPARENT);
    expect(traceparentOf(trace.getTracer('test').startSpan('root'), undefined)).toBeUndefined();
  });

  it("is the span's own once an SDK records it: same trace, the span as parent", () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    trace.setGlobalTracerProvider(provider);
    try {
      const span = trace.getTracer('test').startSpan('work', {}, contextOf(TRACEPARENT));
      const onward = traceparentOf(span, TRACEPARENT);
      span.end();
      const [finished] = exporter.getFinishedSpans();
      expect(finished.parentSpanContext?.spanId).toBe(PARENT_ID);
      expect(onward).toBe(`00-${TRACE_ID}-${finished.spanContext().spanId}-01`);
      expect(finished.spanContext().spanId).not.toBe(PARENT_ID);
    } finally {
      trace.disable();
    }
  });
});
