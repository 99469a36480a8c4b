// SQLSTATE classes that say nothing about the event: connection exceptions, deadlocks and
// serialization failures, insufficient resources, operator intervention (shutdown).
const TRANSIENT_CLASSES = ['08', '40', '53', '57'];
const CONNECTION_MESSAGES = /Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE|Client has encountered a connection error|timeout exceeded when trying to connect/i;

/**
 * Whether a failure inside a projection's batch is the database's and worth retrying, rather
 * than the event's: only the latter may stop the projection at that event.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_CLASSES.includes(code.slice(0, 2));
  return CONNECTION_MESSAGES.test(error.message);
}
