import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { errorFields } from '@platform/core';
import { serviceLogger } from '../logging/process-logger';
import type { TracingSettings } from './tracing-settings';

const logger = serviceLogger('Tracing');

/** The running SDK's provider, once tracing started; flushed and stopped at shutdown. */
let running: { shutdown(): Promise<void> } | undefined;

/**
 * Starts OpenTelemetry for a service when its configuration asks for it (tracing-settings.ts):
 * the SDK is loaded and registered then, and only then. Otherwise nothing is loaded and every
 * span the libraries start is the API's no-op one.
 */
export async function startTracing(service: string, settings: TracingSettings | undefined): Promise<void> {
  if (!settings || running) return;
  const { startOtlpTracing } = await import('./otlp-tracing');
  running = startOtlpTracing(service, settings, logger);
  logger.info('tracing: spans exported by OTLP', { protocol: settings.protocol, sampler: settings.sampler });
}

/** Exports the spans still queued and stops the SDK; nothing when tracing never started. */
export async function stopTracing(): Promise<void> {
  const provider = running;
  running = undefined;
  await provider?.shutdown().catch((error: unknown) => logger.warn('tracing: the last spans could not be exported', errorFields(error)));
}

/** Flushes the spans at the end of a service's shutdown, after messaging stopped (whose last spans it exports). */
@Injectable()
export class TracingShutdown implements OnApplicationShutdown {
  onApplicationShutdown(): Promise<void> {
    return stopTracing();
  }
}
