/**
 * One classification of failures for every library: is it the world's (a connection dropped, a
 * lock timed out, a deadlock: the same attempt may succeed later) or the code's or the data's
 * (retrying gives the same answer)? An error may say so itself with a `retriable` flag, as
 * kafkajs errors and ours do; programmer errors (TypeError and friends) are never retried;
 * PostgreSQL errors are judged by SQLSTATE, connection failures by their message.
 */
export type FailureKind =
  /** The infrastructure is away (the database restarting, a connection refused): retry until it is back. */
  | 'outage'
  /** Worth another attempt (a deadlock, a serialization failure, an error flagged retriable). */
  | 'transient'
  /** The same attempt fails the same way again. */
  | 'permanent'
  /** Nothing says which: worth a few attempts. */
  | 'unknown';

const PROGRAMMER_ERRORS = ['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError'];

/** SQLSTATE classes of a database that is away: connection exceptions, operator intervention (shutdown, crash recovery, not accepting connections yet). */
const OUTAGE_SQL_CLASSES = ['08', '57'];
/** SQLSTATE classes that say nothing about the work itself: deadlocks and serialization failures, insufficient resources, system errors. */
const TRANSIENT_SQL_CLASSES = ['40', '53', '58'];
/** Data, integrity, syntax and privilege errors: the statement will fail the same way again. */
const PERMANENT_SQL_CLASSES = ['22', '23', '42', '2B', '2D', '3F', '44'];
const CONNECTION_FAILURE = /Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|Client has encountered a connection error|timeout exceeded when trying to connect/i;

export function classifyFailure(error: unknown): FailureKind {
  if (!(error instanceof Error)) return 'unknown';
  const flagged = (error as { retriable?: unknown }).retriable;
  if (flagged === false) return 'permanent';
  if (PROGRAMMER_ERRORS.includes(error.name) || PROGRAMMER_ERRORS.includes(error.constructor.name)) return 'permanent';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const sqlClass = code.slice(0, 2);
    if (OUTAGE_SQL_CLASSES.includes(sqlClass)) return 'outage';
    if (TRANSIENT_SQL_CLASSES.includes(sqlClass)) return 'transient';
    if (PERMANENT_SQL_CLASSES.includes(sqlClass)) return 'permanent';
  }
  if (CONNECTION_FAILURE.test(error.message) || (typeof code === 'string' && CONNECTION_FAILURE.test(code))) return 'outage';
  return flagged === true ? 'transient' : 'unknown';
}

/** Worth another attempt within a retry budget: everything not known to be permanent. */
export function isRetriable(error: unknown): boolean {
  return classifyFailure(error) !== 'permanent';
}

/** Known to be the infrastructure's failure, not the work's: never a reason to give up on the work. */
export function isTransientFailure(error: unknown): boolean {
  const kind = classifyFailure(error);
  return kind === 'outage' || kind === 'transient';
}

/** A failure the code signals as permanent: no retry changes the answer. */
export class NonRetriableError extends Error {
  readonly retriable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}

/** A failure the code signals as transient. */
export class RetriableError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetriableError';
  }
}
