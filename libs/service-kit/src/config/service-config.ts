import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '@platform/core';
import { EnvReader, type Env } from './env';
import { DEFAULT_KAFKA_CLIENT, DEFAULT_PARTITIONS_CONCURRENTLY, DEFAULT_TRANSACTIONS_PER_PARTITION, KAFKA_CLIENTS, type KafkaClient } from '@platform/messaging';
import { readTracingSettings, type TracingSettings } from '../tracing/tracing-settings';
import { developmentCredentialProblems } from './development-credentials';
import { readKafkaSecurity, type KafkaSecurity } from './kafka-security';
import { readAuthSettings, type AuthSettings } from '../auth/auth-settings';

/** What every service reads from its environment. */
export interface ServiceConfig extends KafkaSecurity {
  readonly service: string;
  /** HTTP port. */
  readonly port: number;
  /** The service's own database, as its runtime role (DML only, owning nothing); no service is given another's. */
  readonly databaseUrl: string;
  /**
   * The same database as the role that owns its schema and runs the migrations (DDL); unset
   * (development), the migrations run through databaseUrl.
   */
  readonly migrationDatabaseUrl?: string;
  readonly databasePoolSize: number;
  readonly kafkaBrokers: readonly string[];
  /** Prefix of every topic and group: an environment, or one test run. Empty by default. */
  readonly kafkaNamespace: string;
  readonly logLevel: LogLevel;
  /** JSON lines (default), or pino-pretty's lines for people. */
  readonly logFormat: LogFormat;
  /** How long SIGTERM may take: in-flight events finish or are handed back within it. */
  readonly shutdownTimeoutMs: number;
  /** Partitions each use case handles concurrently. */
  readonly consumerConcurrency: number;
  /** Transactions each partition runs at once, on different keys. */
  readonly consumerTransactionsPerPartition: number;
  /** Which Kafka client the Broker port runs on. */
  readonly kafkaClient: KafkaClient;
  /** How soon the group gives a silent (crashed) member's partitions to others. */
  readonly kafkaSessionTimeoutMs: number;
  /** Whether dead letters carry the error's stack trace (dlq_error_stack); message and name they always carry. */
  readonly deadLetterStacks: boolean;
  /** OpenTelemetry span export, when the OTEL_* variables ask for it; undefined: no SDK, no spans kept. */
  readonly tracing?: TracingSettings;
  /** How bearer tokens are verified: a JWKS URL, a shared secret, or the development secret. */
  readonly auth: AuthSettings;
}

export interface ServiceDefaults {
  readonly service: string;
  readonly port: number;
}

/** The database `npm start` provisions for a service when DATABASE_URL is not given. */
export function defaultDatabaseUrl(service: string): string {
  return `postgres://${service}_svc:${service}_svc@127.0.0.1:5432/platform_${service}`;
}

const POSTGRES_PROTOCOLS = ['postgres:', 'postgresql:'];

export function loadServiceConfig(defaults: ServiceDefaults, env: Env = process.env): ServiceConfig {
  const read = new EnvReader(env);
  const databaseUrl = read.url('DATABASE_URL', defaultDatabaseUrl(defaults.service), POSTGRES_PROTOCOLS);
  const migrationDatabaseUrl = readMigrationDatabaseUrl(read, env, databaseUrl);
  const config: ServiceConfig = {
    service: defaults.service,
    port: read.int('PORT', defaults.port, { min: 1, max: 65_535 }),
    databaseUrl,
    ...(migrationDatabaseUrl ? { migrationDatabaseUrl } : {}),
    databasePoolSize: read.int('DATABASE_POOL_SIZE', 10, { min: 2, max: 200 }),
    kafkaBrokers: read.list('KAFKA_BROKERS', '127.0.0.1:9092', { test: /^[A-Za-z0-9.-]+:\d{1,5}$/, description: 'host:port' }),
    kafkaNamespace: read.optional('KAFKA_NAMESPACE', { test: /^[a-z0-9][a-z0-9_-]*$/, description: 'lower-case letters, digits, "_" and "-"' }),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    logFormat: read.oneOf('LOG_FORMAT', 'json', LOG_FORMATS),
    shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', 20_000, { min: 1000, max: 600_000 }),
    consumerConcurrency: read.int('CONSUMER_CONCURRENCY', DEFAULT_PARTITIONS_CONCURRENTLY, { min: 1, max: 64 }),
    consumerTransactionsPerPartition: read.int('CONSUMER_TRANSACTIONS_PER_PARTITION', DEFAULT_TRANSACTIONS_PER_PARTITION, { min: 1, max: 64 }),
    kafkaClient: read.oneOf('KAFKA_CLIENT', DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS),
    kafkaSessionTimeoutMs: read.int('KAFKA_SESSION_TIMEOUT_MS', 10_000, { min: 6_000, max: 300_000 }),
    ...readKafkaSecurity(read, env),
    deadLetterStacks: read.oneOf('DEAD_LETTER_STACKS', 'false', ['true', 'false']) === 'true',
    tracing: readTracingSettings(read, env),
    auth: readAuthSettings(read, env),
  };
  const urls = [{ variable: 'DATABASE_URL', url: databaseUrl }, ...(migrationDatabaseUrl ? [{ variable: 'MIGRATION_DATABASE_URL', url: migrationDatabaseUrl }] : [])];
  for (const problem of developmentCredentialProblems(env, urls)) read.refuse(problem);
  read.done();
  return config;
}

/**
 * Optional; set, it must name the database of DATABASE_URL: a service migrates only its own.
 * Hosts are not compared: one server has many names (a Kubernetes Service with and without its namespace).
 */
function readMigrationDatabaseUrl(read: EnvReader, env: Env, databaseUrl: string): string | undefined {
  if (!env['MIGRATION_DATABASE_URL']) return undefined;
  const url = read.url('MIGRATION_DATABASE_URL', undefined, POSTGRES_PROTOCOLS);
  const databaseOf = (value: string) => {
    try {
      return decodeURIComponent(new URL(value).pathname.slice(1));
    } catch {
      return undefined;
    }
  };
  const [runtime, migration] = [databaseOf(databaseUrl), databaseOf(url)];
  if (runtime !== undefined && migration !== undefined && runtime !== migration) {
    read.refuse(`MIGRATION_DATABASE_URL must name the database of DATABASE_URL ("${runtime}"), not "${migration}"`);
  }
  return url;
}
