import { context, diag, DiagLogLevel, trace, type DiagLogger } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, resourceAttributesEnvDetector, resourceFromAttributes, serviceNameEnvDetector, type Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import type { Logger } from '@platform/core';
import type { TraceSampler, TracingSettings } from './tracing-settings';

/**
 * The OpenTelemetry SDK of a service that exports spans: an AsyncLocalStorage context manager,
 * a tracer provider with a batch span processor and an OTLP/HTTP exporter (protobuf or JSON,
 * which reads OTEL_EXPORTER_OTLP_* itself: endpoint, headers, timeout, compression), registered
 * as the API's globals. Loaded only when tracing is on: a service without it never loads it.
 */
export function startOtlpTracing(service: string, settings: TracingSettings, logger: Logger): TracerProvider {
  diag.setLogger(diagLogger(logger), DiagLogLevel.WARN);
  const exporter: SpanExporter = settings.protocol === 'http/json' ? new JsonExporter() : new ProtobufExporter();
  const provider = new TracerProvider({
    resource: serviceResource(service),
    sampler: samplerOf(settings.sampler, settings.samplerRatio),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: settings.scheduleDelayMs,
        exportTimeoutMillis: settings.exportTimeoutMs,
        maxQueueSize: settings.maxQueueSize,
        maxExportBatchSize: Math.min(settings.maxExportBatchSize, settings.maxQueueSize),
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return provider;
}

/** `service.name` is the service's, unless OTEL_SERVICE_NAME says otherwise; OTEL_RESOURCE_ATTRIBUTES adds to it. */
export function serviceResource(service: string): Resource {
  return resourceFromAttributes({ 'service.name': service }).merge(detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] }));
}

function samplerOf(name: TraceSampler, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** The SDK's own complaints (an export the collector refused, spans dropped) in the service's log. */
function diagLogger(logger: Logger): DiagLogger {
  const line = (write: (message: string) => void) => (message: string, ...args: unknown[]) => write(args.length > 0 ? `${message} ${args.map(String).join(' ')}` : message);
  return {
    error: line((m) => logger.error(m)),
    warn: line((m) => logger.warn(m)),
    info: line((m) => logger.info(m)),
    debug: line((m) => logger.debug(m)),
    verbose: line((m) => logger.debug(m)),
  };
}
