export type LogFields = Record<string, unknown>;

/** Structured logging port of the libraries; `loggerPort` writes it through pino, tests may silence it. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
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
