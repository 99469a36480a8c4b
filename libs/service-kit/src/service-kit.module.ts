import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MESSAGING_MIGRATIONS, OutboxPublisher } from '@platform/messaging';
import { AuthGuard } from './auth/auth.guard';
import type { ServiceConfig } from './config/service-config';
import { ServiceConfigModule } from './config/service-config.module';
import { pgDriverKeepingItsPool } from './database/pool-of';
import { Transactions } from './database/transactions';
import { typeOrmMigrations } from './database/typeorm-migrations';
import { runMigrationsAsOwner } from './database/migration-runner';
import { HealthController } from './health/health.controller';
import { RequestLoggingModule } from './logging/request-logging.module';
import { MessagingLifecycle } from './messaging/messaging-lifecycle';
import { MetricsController } from './metrics/metrics.controller';
import { SagaInstances } from './sagas/saga-instances';
import { SagasController } from './sagas/sagas.controller';
import { PrometheusMetrics } from './metrics/prometheus-metrics';
import type { ServiceKitOptions } from './service-kit.options';
import { METRICS, SERVICE_CONFIG, SERVICE_KIT_OPTIONS } from './tokens';
import { TracingShutdown } from './tracing/tracing';

/**
 * What every service shares: validated configuration, its own database with migrations
 * applied at start, the outbox publisher, one consumer group per use case, health checks, and
 * Prometheus metrics at /metrics (one registry per process; inject METRICS to report into it),
 * a log line per HTTP request and every request handled in its log context, and the spans
 * exported last at shutdown when tracing is on; its sagas' instances at /sagas (operators only);
 * every route but the @Public() ones behind a verified bearer token (AuthGuard).
 */
@Global()
@Module({})
export class ServiceKitModule {
  static forRoot(options: ServiceKitOptions): DynamicModule {
    const configModule = ServiceConfigModule.forService({ service: options.service, port: options.defaultPort });
    return {
      module: ServiceKitModule,
      imports: [
        configModule,
        RequestLoggingModule,
        TypeOrmModule.forRootAsync({
          imports: [configModule],
          inject: [SERVICE_CONFIG],
          useFactory: async (config: ServiceConfig) => {
            const migrations = typeOrmMigrations([...MESSAGING_MIGRATIONS, ...(options.libraryMigrations ?? []), ...options.migrations]);
            // As the migration role when there is one, else (development) as the runtime role;
            // either way before the runtime pool opens, one replica at a time.
            await runMigrationsAsOwner({ url: config.migrationDatabaseUrl ?? config.databaseUrl, migrations, applicationName: `${config.service}-migrations` });
            return {
              type: 'postgres' as const,
              url: config.databaseUrl,
              // pg, through which the libraries get the pool TypeORM makes (poolOf).
              driver: pgDriverKeepingItsPool(),
              entities: [...options.entities],
              // Still listed: /health/ready reports pending ones.
              migrations,
              migrationsRun: false,
              // Extensions are the migrations' business; the runtime role may not create them.
              installExtensions: false,
              synchronize: false,
              // A request that cannot get a connection in 10 s fails instead of waiting forever.
              extra: { max: config.databasePoolSize, application_name: config.service, connectionTimeoutMillis: 10_000 },
              retryAttempts: 10,
              retryDelay: 1000,
            };
          },
        }),
        TypeOrmModule.forFeature([...options.entities]),
      ],
      controllers: [HealthController, MetricsController, SagasController],
      providers: [
        { provide: SERVICE_KIT_OPTIONS, useValue: options },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: OutboxPublisher, useFactory: (c: ServiceConfig) => new OutboxPublisher(c.service, options.publishes), inject: [SERVICE_CONFIG] },
        { provide: PrometheusMetrics, useFactory: () => new PrometheusMetrics() },
        { provide: METRICS, useExisting: PrometheusMetrics },
        Transactions,
        MessagingLifecycle,
        SagaInstances,
        TracingShutdown,
      ],
      exports: [configModule, OutboxPublisher, Transactions, MessagingLifecycle, TypeOrmModule, PrometheusMetrics, METRICS],
    };
  }
}
