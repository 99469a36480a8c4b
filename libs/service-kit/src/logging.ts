import { type LogFields, type Logger } from '@platform/core';
import { Logger as NestLogger } from '@nestjs/common';

/** The libraries' Logger port on top of Nest's logger, so all output shares one format. */
export function nestLogger(context: string): Logger {
  const nest = new NestLogger(context);
  const format = (message: string, fields?: LogFields) => {
    if (!fields) return message;
    const shown = Object.entries(fields).filter(([key, value]) => value !== undefined && key !== 'stack');
    return shown.length === 0 ? message : `${message} ${JSON.stringify(Object.fromEntries(shown))}`;
  };
  return {
    debug: (message, fields) => nest.debug(format(message, fields)),
    info: (message, fields) => nest.log(format(message, fields)),
    warn: (message, fields) => nest.warn(format(message, fields)),
    error: (message, fields) => nest.error(format(message, fields), fields?.['stack'] as string | undefined),
  };
}
