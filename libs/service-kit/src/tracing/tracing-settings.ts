import type { Env, EnvReader } from '../config/env';

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export const TRACE_SAMPLERS = ['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'always_on', 'always_off', 'traceidratio'] as const;
export type TraceSampler = (typeof TRACE_SAMPLERS)[number];

/** How spans are exported, from the standard OTEL_* variables; tracing is off without them. */
export interface TracingSettings {
  /** OTLP over HTTP; the endpoint, headers, timeout and compression the exporter reads itself. */
  readonly protocol: OtlpProtocol;
  readonly sampler: TraceSampler;
  /** OTEL_TRACES_SAMPLER_ARG: the ratio of the traceidratio samplers. */
  readonly samplerRatio: number;
  /** The batch span processor's OTEL_BSP_* settings. */
  readonly scheduleDelayMs: number;
  readonly exportTimeoutMs: number;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
}

/** Only OTLP is exported; `none` says no exporter. */
const EXPORTERS = ['otlp', 'none'];

/**
 * Whether spans are exported, and how: only when the environment asks for it, with
 * OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); never with OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none. Unlike the specification's default (otlp to localhost:4318), a
 * service that is told nothing starts no SDK. Values it cannot honour (the grpc protocol, an
 * exporter other than otlp) are configuration errors, not silently ignored.
 */
export function readTracingSettings(read: EnvReader, env: Env): TracingSettings | undefined {
  if (read.oneOf('OTEL_SDK_DISABLED', 'false', ['true', 'false']) === 'true') return undefined;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const exporter of exporters) read.oneOf('OTEL_TRACES_EXPORTER', exporter, EXPORTERS);
  const endpoint = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'].filter((name) => env[name]);
  for (const name of endpoint) read.url(name, undefined, ['http:', 'https:']);
  const asked = exporters.length > 0 ? exporters.includes('otlp') : endpoint.length > 0;
  if (!asked) return undefined;
  const protocolVariable = env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  return {
    protocol: read.oneOf(protocolVariable, 'http/protobuf', OTLP_PROTOCOLS),
    sampler: read.oneOf('OTEL_TRACES_SAMPLER', 'parentbased_always_on', TRACE_SAMPLERS),
    samplerRatio: read.number('OTEL_TRACES_SAMPLER_ARG', 1, { min: 0, max: 1 }),
    scheduleDelayMs: read.int('OTEL_BSP_SCHEDULE_DELAY', 5000, { min: 1, max: 600_000 }),
    exportTimeoutMs: read.int('OTEL_BSP_EXPORT_TIMEOUT', 30_000, { min: 1, max: 600_000 }),
    maxQueueSize: read.int('OTEL_BSP_MAX_QUEUE_SIZE', 2048, { min: 1, max: 1_000_000 }),
    maxExportBatchSize: read.int('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, { min: 1, max: 1_000_000 }),
  };
}
