import { DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, DEVELOPMENT_JWT_SECRET } from '../auth/auth-settings';
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
      logFormat: 'json',
      shutdownTimeoutMs: 20_000,
      consumerConcurrency: 6,
      consumerTransactionsPerPartition: 3,
      kafkaSessionTimeoutMs: 10_000,
      kafkaSecurityProtocol: 'PLAINTEXT',
      kafkaSasl: undefined,
      kafkaTls: undefined,
      kafkaClient: 'platformatic',
      deadLetterStacks: false,
      auth: { kind: 'secret', secret: DEVELOPMENT_JWT_SECRET, issuer: DEVELOPMENT_ISSUER, audience: DEVELOPMENT_AUDIENCE, development: true },
    });
  });

  it('reads DEAD_LETTER_STACKS, off unless "true"', () => {
    expect(loadServiceConfig(defaults, { DEAD_LETTER_STACKS: 'true' }).deadLetterStacks).toBe(true);
    expect(loadServiceConfig(defaults, { DEAD_LETTER_STACKS: 'false' }).deadLetterStacks).toBe(false);
    expect(() => loadServiceConfig(defaults, { DEAD_LETTER_STACKS: 'yes' })).toThrow(/DEAD_LETTER_STACKS must be one of true, false/);
  });

  it('reads MIGRATION_DATABASE_URL when set, and only for the database of DATABASE_URL', () => {
    const runtime = 'postgres://users_svc:s3cret@db:5432/platform_users';
    expect(loadServiceConfig(defaults, { DATABASE_URL: runtime }).migrationDatabaseUrl).toBeUndefined();
    const migrator = 'postgres://users_migrator:0th3r@db/platform_users';
    expect(loadServiceConfig(defaults, { DATABASE_URL: runtime, MIGRATION_DATABASE_URL: migrator }).migrationDatabaseUrl).toBe(migrator);
    const otherHostName = 'postgres://users_migrator:0th3r@db.platform.svc:5432/platform_users';
    expect(loadServiceConfig(defaults, { DATABASE_URL: runtime, MIGRATION_DATABASE_URL: otherHostName }).migrationDatabaseUrl).toBe(otherHostName);
    expect(() => loadServiceConfig(defaults, { DATABASE_URL: runtime, MIGRATION_DATABASE_URL: 'postgres://m:p@db:5432/platform_endpoints' })).toThrow(
      'MIGRATION_DATABASE_URL must name the database of DATABASE_URL ("platform_users"), not "platform_endpoints"',
    );
    expect(() => loadServiceConfig(defaults, { MIGRATION_DATABASE_URL: 'mysql://m@db/x' })).toThrow(/MIGRATION_DATABASE_URL must be a postgres: or postgresql: URL/);
  });

  describe('in production mode (NODE_ENV=production)', () => {
    // A JWT secret of its own: only the database passwords are under test here.
    const production = { NODE_ENV: 'production', KAFKA_BROKERS: 'kafka:9092', AUTH_JWT_SECRET: 'a-production-secret-of-at-least-32-chars' };

    it('refuses the development default DATABASE_URL, in one line naming the variable', () => {
      expect(() => loadServiceConfig(defaults, production)).toThrow(
        new ConfigurationError(['DATABASE_URL is unset and its default uses the development password of role users_svc (its own name), refused with NODE_ENV=production: give the service a secret of its own']),
      );
      expect(new ConfigurationError(['one']).message).toBe('Invalid configuration: one');
    });

    it('refuses a development password in DATABASE_URL or MIGRATION_DATABASE_URL, each named', () => {
      expect(() => loadServiceConfig(defaults, { ...production, DATABASE_URL: 'postgres://users_svc:users_svc@db/platform_users' })).toThrow(/^Invalid configuration: DATABASE_URL uses the development password of role users_svc/);
      expect(() => loadServiceConfig(defaults, { ...production, DATABASE_URL: 'postgres://postgres:postgres@db/platform_users' })).toThrow(/DATABASE_URL uses the development password of role postgres/);
      expect(() =>
        loadServiceConfig(defaults, { ...production, DATABASE_URL: 'postgres://users_svc:s3cret@db/platform_users', MIGRATION_DATABASE_URL: 'postgres://users_migrator:users_migrator@db/platform_users' }),
      ).toThrow(/^Invalid configuration: MIGRATION_DATABASE_URL uses the development password of role users_migrator/);
    });

    it('starts on passwords of its own, or none in the URL', () => {
      const config = loadServiceConfig(defaults, { ...production, DATABASE_URL: 'postgres://users_svc:s3cret@db/platform_users', MIGRATION_DATABASE_URL: 'postgres://users_migrator:0th3r@db/platform_users' });
      expect(config.databaseUrl).toBe('postgres://users_svc:s3cret@db/platform_users');
      expect(loadServiceConfig(defaults, { ...production, DATABASE_URL: 'postgres://users_svc@db/platform_users' }).databaseUrl).toBe('postgres://users_svc@db/platform_users');
    });

    it('lets development and tests use the development passwords', () => {
      for (const NODE_ENV of [undefined, 'development', 'test']) expect(loadServiceConfig(defaults, { NODE_ENV }).databaseUrl).toBe(defaultDatabaseUrl('users'));
    });
  });

  it('reads the Kafka client, kafkajs or platformatic, and refuses any other', () => {
    expect(loadServiceConfig(defaults, { KAFKA_CLIENT: 'platformatic' }).kafkaClient).toBe('platformatic');
    expect(loadServiceConfig(defaults, { KAFKA_CLIENT: 'kafkajs' }).kafkaClient).toBe('kafkajs');
    expect(() => loadServiceConfig(defaults, { KAFKA_CLIENT: 'rdkafka' })).toThrow(/KAFKA_CLIENT must be one of/);
  });

  it('reads how to connect to Kafka (kafka-security.unit.spec.ts has every combination)', () => {
    expect(
      loadServiceConfig(defaults, { KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'users', KAFKA_SASL_PASSWORD: 's3cret' }),
    ).toMatchObject({ kafkaSecurityProtocol: 'SASL_PLAINTEXT', kafkaSasl: { mechanism: 'scram-sha-512', username: 'users', password: 's3cret' }, kafkaTls: undefined });
    expect(() => loadServiceConfig(defaults, { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(/need KAFKA_SECURITY_PROTOCOL SASL_SSL or SASL_PLAINTEXT/);
  });

  it('reads every variable', () => {
    const config = loadServiceConfig(defaults, {
      PORT: '8080',
      DATABASE_URL: 'postgresql://u:p@db:5432/users',
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      KAFKA_NAMESPACE: 'staging',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'pretty',
      SHUTDOWN_TIMEOUT_MS: '5000',
      CONSUMER_CONCURRENCY: '12',
      CONSUMER_TRANSACTIONS_PER_PARTITION: '2',
      DATABASE_POOL_SIZE: '20',
    });
    expect(config).toMatchObject({ port: 8080, kafkaBrokers: ['k1:9092', 'k2:9092'], kafkaNamespace: 'staging', logLevel: 'debug', logFormat: 'pretty', consumerConcurrency: 12, consumerTransactionsPerPartition: 2, databasePoolSize: 20 });
  });

  it('names every bad variable, what it must be and what it was, in one error', () => {
    let error: unknown;
    try {
      loadServiceConfig(defaults, { PORT: 'eighty', DATABASE_URL: 'mysql://x', KAFKA_BROKERS: 'nohost', LOG_LEVEL: 'loud', LOG_FORMAT: 'text', KAFKA_NAMESPACE: 'Bad NS' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('PORT must be an integer between 1 and 65535 (got "eighty")');
    expect(message).toContain('DATABASE_URL must be a postgres: or postgresql: URL');
    expect(message).toContain('KAFKA_BROKERS entries must be host:port (got "nohost")');
    expect(message).toContain('LOG_LEVEL must be one of debug, info, warn, error (got "loud")');
    expect(message).toContain('LOG_FORMAT must be one of json, pretty (got "text")');
    expect(message).toContain('KAFKA_NAMESPACE must be lower-case letters');
  });
});
