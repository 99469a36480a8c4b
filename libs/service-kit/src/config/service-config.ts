import { EnvReader, type Env } from './env';
import { DEFAULT_PARTITIONS_CONCURRENTLY } from '@platform/messaging';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

export interface KafkaCredentials {
  readonly mechanism: (typeof SASL_MECHANISMS)[number];
  readonly username: string;
  readonly password: string;
}
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What every service reads from its environment. */
export interface ServiceConfig {
  readonly service: string;
  /** HTTP port. */
  readonly port: number;
  /** The service's own database; no service is given another's. */
  readonly databaseUrl: string;
  readonly databasePoolSize: number;
  readonly kafkaBrokers: readonly string[];
  /** Prefix of every topic and group: an environment, or one test run. Empty by default. */
  readonly kafkaNamespace: string;
  readonly logLevel: LogLevel;
  /** How long SIGTERM may take: in-flight events finish or are handed back within it. */
  readonly shutdownTimeoutMs: number;
  /** Partitions each use case handles concurrently. */
  readonly consumerConcurrency: number;
  /** How soon the group gives a silent (crashed) member's partitions to others. */
  readonly kafkaSessionTimeoutMs: number;
  /** SASL credentials (e.g. a Strimzi KafkaUser's), when the cluster asks for them. */
  readonly kafkaSasl?: KafkaCredentials;
  /** TLS to the brokers. */
  readonly kafkaSsl: boolean;
}

export interface ServiceDefaults {
  readonly service: string;
  readonly port: number;
}

/** The database `npm start` provisions for a service when DATABASE_URL is not given. */
export function defaultDatabaseUrl(service: string): string {
  return `postgres://${service}_svc:${service}_svc@127.0.0.1:5432/platform_${service}`;
}

export function loadServiceConfig(defaults: ServiceDefaults, env: Env = process.env): ServiceConfig {
  const read = new EnvReader(env);
  const config: ServiceConfig = {
    service: defaults.service,
    port: read.int('PORT', defaults.port, { min: 1, max: 65_535 }),
    databaseUrl: read.url('DATABASE_URL', defaultDatabaseUrl(defaults.service), ['postgres:', 'postgresql:']),
    databasePoolSize: read.int('DATABASE_POOL_SIZE', 10, { min: 2, max: 200 }),
    kafkaBrokers: read.list('KAFKA_BROKERS', '127.0.0.1:9092', { test: /^[A-Za-z0-9.-]+:\d{1,5}$/, description: 'host:port' }),
    kafkaNamespace: read.optional('KAFKA_NAMESPACE', { test: /^[a-z0-9][a-z0-9_-]*$/, description: 'lower-case letters, digits, "_" and "-"' }),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', 20_000, { min: 1000, max: 600_000 }),
    consumerConcurrency: read.int('CONSUMER_CONCURRENCY', DEFAULT_PARTITIONS_CONCURRENTLY, { min: 1, max: 64 }),
    kafkaSessionTimeoutMs: read.int('KAFKA_SESSION_TIMEOUT_MS', 10_000, { min: 6_000, max: 300_000 }),
    kafkaSasl: readSasl(read, env),
    kafkaSsl: read.oneOf('KAFKA_SSL', 'false', ['true', 'false']) === 'true',
  };
  read.done();
  return config;
}

/** Unset KAFKA_SASL_MECHANISM means no SASL; set, it needs a username and a password. */
function readSasl(read: EnvReader, env: Env): KafkaCredentials | undefined {
  if (!env['KAFKA_SASL_MECHANISM']) return undefined;
  return {
    mechanism: read.oneOf('KAFKA_SASL_MECHANISM', 'scram-sha-512', SASL_MECHANISMS),
    username: read.string('KAFKA_SASL_USERNAME'),
    password: read.string('KAFKA_SASL_PASSWORD'),
  };
}
