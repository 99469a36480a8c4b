/**
 * Retriable (the world may change: a connection dropped, a lock timed out, a deadlock) versus
 * not (the code or the data is wrong: retrying gives the same answer). An error may say so
 * itself with a `retriable` flag, as kafkajs errors and ours do; programmer errors
 * (TypeError and friends) are never retried; PostgreSQL errors are judged by SQLSTATE.
 */
const PROGRAMMER_ERRORS = ['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError'];

/** SQLSTATE classes and codes worth another attempt. */
const RETRIABLE_SQL_CLASSES = ['08', '53', '57', '58', '40'];
const NON_RETRIABLE_SQL_CLASSES = ['22', '23', '42', '2B', '2D', '3F', '44'];

export function isRetriable(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  const flagged = (error as { retriable?: unknown }).retriable;
  if (typeof flagged === 'boolean') return flagged;
  if (PROGRAMMER_ERRORS.includes(error.name) || PROGRAMMER_ERRORS.includes(error.constructor.name)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const sqlClass = code.slice(0, 2);
    if (RETRIABLE_SQL_CLASSES.includes(sqlClass)) return true;
    if (NON_RETRIABLE_SQL_CLASSES.includes(sqlClass)) return false;
  }
  // Unknown failures get the benefit of the doubt, within the retry budget.
  return true;
}

/** A failure the handler signals as permanent: straight to the dead-letter topic. */
export class NonRetriableError extends Error {
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}

/** A failure the handler signals as transient. */
export class RetriableError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetriableError';
  }
}
