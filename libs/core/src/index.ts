export { withTransaction, type PooledSqlClient, type SqlClient, type SqlPool } from './sql-client';
export { type SqlMigration } from './sql-migration';
export { errorFields, errorMessage, jsonLogger, silentLogger, type LogFields, type Logger } from './logger';
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
