import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MESSAGING_MIGRATIONS, OutboxPublisher } from '@platform/messaging';
import type { ServiceConfig } from './config/service-config';
import { ServiceConfigModule } from './config/service-config.module';
import { Transactions } from './database/transactions';
import { typeOrmMigrations } from './database/typeorm-migrations';
import { HealthController } from './health/health.controller';
import { MessagingLifecycle } from './messaging/messaging-lifecycle';
import { MetricsController } from './metrics/metrics.controller';
import { PrometheusMetrics } from './metrics/prometheus-metrics';
import type { ServiceKitOptions } from './service-kit.options';
import { METRICS, SERVICE_CONFIG, SERVICE_KIT_OPTIONS } from './tokens';

/**
 * What every service shares: validated configuration, its own database with migrations
 * applied at start, the outbox publisher, one consumer group per use case, health checks, and
 * Prometheus metrics at /metrics (one registry per process; inject METRICS to report into it).
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
        TypeOrmModule.forRootAsync({
          imports: [configModule],
          inject: [SERVICE_CONFIG],
          useFactory: (config: ServiceConfig) => ({
            type: 'postgres',
            url: config.databaseUrl,
            entities: [...options.entities],
            migrations: typeOrmMigrations([...MESSAGING_MIGRATIONS, ...(options.libraryMigrations ?? []), ...options.migrations]),
            migrationsRun: true,
            synchronize: false,
            // A request that cannot get a connection in 10 s fails instead of waiting forever.
            extra: { max: config.databasePoolSize, application_name: config.service, connectionTimeoutMillis: 10_000 },
            retryAttempts: 10,
            retryDelay: 1000,
          }),
        }),
        TypeOrmModule.forFeature([...options.entities]),
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: SERVICE_KIT_OPTIONS, useValue: options },
        { provide: OutboxPublisher, useFactory: (c: ServiceConfig) => new OutboxPublisher(c.service, options.publishes), inject: [SERVICE_CONFIG] },
        { provide: PrometheusMetrics, useFactory: () => new PrometheusMetrics() },
        { provide: METRICS, useExisting: PrometheusMetrics },
        Transactions,
        MessagingLifecycle,
      ],
      exports: [configModule, OutboxPublisher, Transactions, MessagingLifecycle, TypeOrmModule, PrometheusMetrics, METRICS],
    };
  }
}
