export { withTransaction, type PooledSqlClient, type SqlClient, type SqlPool } from './sql-client';
export { type SqlMigration } from './sql-migration';
export { errorFields, errorMessage, jsonLogger, silentLogger, type LogFields, type Logger } from './logger';
export { classifyFailure, isRetriable, isTransientFailure, NonRetriableError, RetriableError, type FailureKind } from './errors';
export { backoffDelayMs, sleep, validateBackoff, type Backoff } from './backoff';
