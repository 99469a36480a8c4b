import { Logger as NestLogger } from '@nestjs/common';
import type { LogFields, Logger } from '@platform/core';

/** The libraries' logger port on Nest's logger: the console has no logging of its own. */
export function consoleLogger(context: string): Logger {
  const nest = new NestLogger(context);
  const line = (message: string, fields?: LogFields) => (fields && Object.keys(fields).length > 0 ? `${message} ${JSON.stringify(fields)}` : message);
  return {
    debug: (message, fields) => nest.debug(line(message, fields)),
    info: (message, fields) => nest.log(line(message, fields)),
    warn: (message, fields) => nest.warn(line(message, fields)),
    error: (message, fields) => nest.error(line(message, fields)),
  };
}
