import { ConfigurationError } from './env';
import { defaultDatabaseUrl, loadServiceConfig } from './service-config';

const defaults = { service: 'users', port: 3001 };

describe('service configuration', () => {
  it('has defaults that run against the local platform', () => {
    expect(loadServiceConfig(defaults, {})).toEqual({
      service: 'users',
      port: 3001,
      databaseUrl: defaultDatabaseUrl('users'),
      databasePoolSize: 10,
      kafkaBrokers: ['127.0.0.1:9092'],
      kafkaNamespace: '',
      logLevel: 'info',
      shutdownTimeoutMs: 20_000,
      consumerConcurrency: 6,
      kafkaSessionTimeoutMs: 10_000,
      kafkaSasl: undefined,
      kafkaSsl: false,
    });
  });

  it('reads SASL credentials when a mechanism is set, and insists on both of them', () => {
    expect(loadServiceConfig(defaults, { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'users', KAFKA_SASL_PASSWORD: 's3cret', KAFKA_SSL: 'true' })).toMatchObject({
      kafkaSasl: { mechanism: 'scram-sha-512', username: 'users', password: 's3cret' },
      kafkaSsl: true,
    });
    expect(() => loadServiceConfig(defaults, { KAFKA_SASL_MECHANISM: 'scram-sha-512' })).toThrow(/KAFKA_SASL_USERNAME is required[\s\S]*KAFKA_SASL_PASSWORD is required/);
    expect(() => loadServiceConfig(defaults, { KAFKA_SASL_MECHANISM: 'kerberos', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(/KAFKA_SASL_MECHANISM must be one of/);
  });

  it('reads every variable', () => {
    const config = loadServiceConfig(defaults, {
      PORT: '8080',
      DATABASE_URL: 'postgresql://u:p@db:5432/users',
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      KAFKA_NAMESPACE: 'staging',
      LOG_LEVEL: 'debug',
      SHUTDOWN_TIMEOUT_MS: '5000',
      CONSUMER_CONCURRENCY: '12',
      DATABASE_POOL_SIZE: '20',
    });
    expect(config).toMatchObject({ port: 8080, kafkaBrokers: ['k1:9092', 'k2:9092'], kafkaNamespace: 'staging', logLevel: 'debug', consumerConcurrency: 12, databasePoolSize: 20 });
  });

  it('names every bad variable, what it must be and what it was, in one error', () => {
    let error: unknown;
    try {
      loadServiceConfig(defaults, { PORT: 'eighty', DATABASE_URL: 'mysql://x', KAFKA_BROKERS: 'nohost', LOG_LEVEL: 'loud', KAFKA_NAMESPACE: 'Bad NS' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('PORT must be an integer between 1 and 65535 (got "eighty")');
    expect(message).toContain('DATABASE_URL must be a postgres: or postgresql: URL');
    expect(message).toContain('KAFKA_BROKERS entries must be host:port (got "nohost")');
    expect(message).toContain('LOG_LEVEL must be one of debug, info, warn, error (got "loud")');
    expect(message).toContain('KAFKA_NAMESPACE must be lower-case letters');
  });
});
