import { createRootLogger, loggerPort, type Logger, type LogOptions, type Pino } from '@platform/core';

let root: Pino | undefined;

/**
 * The process's one root logger: bootstrapService sets it from the configuration before Nest
 * starts (a test may give its own destination). Every line of the service goes through it:
 * Nest's, the HTTP request lines and the libraries'.
 */
export function configureProcessLogger(options: LogOptions): Pino {
  root = createRootLogger(options);
  return root;
}

/** The root logger; until one is configured (outside a service), JSON lines at info on standard output. */
export function processLogger(): Pino {
  root ??= createRootLogger({ service: 'unconfigured' });
  return root;
}

/**
 * The libraries' Logger port for one part of a service (`context` on each line), over the
 * root logger in use when it writes: usable in field initialisers that run before bootstrap.
 */
export function serviceLogger(context: string): Logger {
  let made: { readonly root: Pino; readonly child: Pino } | undefined;
  return loggerPort(() => {
    const current = processLogger();
    if (made?.root !== current) made = { root: current, child: current.child({ context }) };
    return made.child;
  });
}
