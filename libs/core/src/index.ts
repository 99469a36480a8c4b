export { sendWithCommit, sqlLiteral, withOpenedTransaction, withTransaction, type PooledSqlClient, type SqlClient, type SqlPool, type StatementResult } from './sql-client';
export { type SqlMigration } from './sql-migration';
export { errorFields, errorMessage, silentLogger, type LogFields, type Logger } from './logger';
export { currentLogContext, withLogContext, type LogContext } from './log-context';
export { formatTraceparent, newTraceparent, parseTraceparent, traceIdOf, type TraceparentFields } from './traceparent';
export { contextOf, spanContextOf, traceparentOf } from './trace-context';
export { createRootLogger, LOG_FORMATS, LOG_LEVELS, loggerPort, stderrLogger, type LogFormat, type LogLevel, type LogOptions, type Pino } from './pino-logger';
export { classifyFailure, isRetriable, isTransientFailure, NonRetriableError, RetriableError, type FailureKind } from './errors';
export { backoffDelayMs, sleep, validateBackoff, type Backoff } from './backoff';
export {
  cachedRead,
  DURATION_BUCKETS_SECONDS,
  noopMetrics,
  secondsSince,
  type CachedRead,
  type CachedReadOptions,
  type CounterHandle,
  type HistogramFamily,
  type HistogramHandle,
  type MetricFamily,
  type MetricLabels,
  type Metrics,
  type MetricSample,
  type SampleReader,
} from './metrics';
