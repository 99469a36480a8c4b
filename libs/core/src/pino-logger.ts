import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import { currentLogContext, type LogContext } from './log-context';
import type { LogFields, Logger } from './logger';
import { traceIdOf } from './traceparent';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `json`: one JSON object per line, for machines; `pretty`: pino-pretty's output, for people. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type { Pino };

export interface LogOptions {
  /** Written on every line as `service`. */
  readonly service: string;
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** A stream, or a file descriptor (default 1, standard output). */
  readonly destination?: DestinationStream | number;
  /**
   * The trace id shown on a line. By default the one of the log context's `traceparent`; a
   * tracer (OpenTelemetry) gives its active span's here instead.
   */
  readonly traceId?: (context: LogContext | undefined) => string | undefined;
}

/**
 * A process's root pino logger. Every line carries `service`, `level` (its name), `time` and
 * the fields of the work in progress (log-context.ts): `correlationId`, `traceId`, and for a
 * message `group`, `topic`, `partition`, `offset`. Writes synchronously, so the last lines
 * before a crash or an exit are not lost.
 */
export function createRootLogger(options: LogOptions): Pino {
  const traceId = options.traceId ?? ((context: LogContext | undefined) => traceIdOf(context?.traceparent));
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => contextFields(currentLogContext(), traceId),
    },
    destinationOf(options),
  );
}

function destinationOf({ format = 'json', destination = 1 }: LogOptions): DestinationStream {
  // One line each, like the JSON, with the service and the part of it that logs in front of the message.
  if (format === 'pretty') return pretty({ destination, sync: true, singleLine: true, ignore: 'service,context', messageFormat: '{service}{if context} {context}{end}: {msg}' });
  return typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
}

function contextFields(context: LogContext | undefined, traceIdFor: (context: LogContext | undefined) => string | undefined): LogFields {
  const traceId = traceIdFor(context);
  if (!context) return traceId ? { traceId } : {};
  const { traceparent: _traceparent, ...fields } = context;
  return traceId ? { ...fields, traceId } : fields;
}

/**
 * The libraries' Logger port writing through a pino logger, or through whatever pino logger
 * `source` returns at each call (a root configured later than the port was made).
 */
export function loggerPort(source: Pino | (() => Pino)): Logger {
  const target = typeof source === 'function' ? source : () => source;
  return {
    debug: (message, fields) => target().debug(fields ?? {}, message),
    info: (message, fields) => target().info(fields ?? {}, message),
    warn: (message, fields) => target().warn(fields ?? {}, message),
    error: (message, fields) => target().error(fields ?? {}, message),
  };
}

/** The Logger port of a tool or a test harness: JSON lines on standard error, standard output being the tool's own. */
export function stderrLogger(name: string, level: LogLevel = 'info'): Logger {
  return loggerPort(createRootLogger({ service: name, level, destination: 2 }));
}
