export type LogFields = Record<string, unknown>;

/** Structured logging port of the libraries; service-kit adapts it to Nest's logger, tests may silence it. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/** One JSON object per line on stderr, at or above `minLevel` (LOG_LEVEL, default info). */
export function jsonLogger(name: string, minLevel: Level = (process.env['LOG_LEVEL'] as Level) ?? 'info'): Logger {
  const threshold = Math.max(0, LEVELS.indexOf(minLevel));
  const write = (level: Level) => (message: string, fields?: LogFields) => {
    if (LEVELS.indexOf(level) < threshold) return;
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, logger: name, message, ...fields }) + '\n');
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Error fields worth logging: message, name, stack and the `retriable` flag when present. */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    return { error: error.message, errorName: error.name, stack: error.stack, retriable: (error as { retriable?: boolean }).retriable };
  }
  return { error: String(error) };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
