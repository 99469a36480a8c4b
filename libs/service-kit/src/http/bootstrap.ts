import { ConsoleLogger, Logger, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ConfigurationError } from '../config/env';
import { loadServiceConfig, type ServiceConfig } from '../config/service-config';
import { httpMetricsMiddleware } from '../metrics/http-metrics';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { DomainErrorFilter } from './errors';
import { requestValidationPipe } from './validation';

export interface BootstrapOptions {
  readonly service: string;
  readonly defaultPort: number;
  readonly title: string;
  readonly description: string;
}

const NEST_LEVELS = { debug: ['error', 'warn', 'log', 'debug'], info: ['error', 'warn', 'log'], warn: ['error', 'warn'], error: ['error'] } as const;

/**
 * Starts a service: configuration checked first (a bad variable stops it with a message
 * naming it), request validation, OpenAPI at /docs and /docs-json, HTTP request metrics (served
 * at /metrics with the rest), graceful shutdown on
 * SIGTERM/SIGINT bounded by SHUTDOWN_TIMEOUT_MS.
 */
export async function bootstrapService(appModule: Type<unknown>, options: BootstrapOptions): Promise<INestApplication> {
  let config: ServiceConfig;
  try {
    config = loadServiceConfig({ service: options.service, port: options.defaultPort });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${options.service}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = new ConsoleLogger(options.service, { json: process.env['LOG_FORMAT'] === 'json', logLevels: [...NEST_LEVELS[config.logLevel]] });
  const app = await NestFactory.create(appModule, { logger, abortOnError: false });
  // First, so every request is counted, those no route matches included.
  app.use(httpMetricsMiddleware(app.get(PrometheusMetrics)));
  app.useGlobalPipes(requestValidationPipe());
  app.useGlobalFilters(new DomainErrorFilter());

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle(options.title).setDescription(options.description).setVersion('1').build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  installGracefulShutdown(app, options.service, config.shutdownTimeoutMs);
  await app.listen(config.port, '0.0.0.0');
  Logger.log(`${options.title} listening on http://127.0.0.1:${config.port} (OpenAPI: /docs)`, options.service);
  return app;
}

/**
 * SIGTERM/SIGINT: stop accepting requests, let messaging finish or hand back its work (the
 * lifecycle hooks), then exit 0. If that hangs past the deadline, exit 1 anyway: Kubernetes
 * would SIGKILL us a little later.
 */
function installGracefulShutdown(app: INestApplication, service: string, timeoutMs: number): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    Logger.log(`${signal} received; shutting down (deadline ${timeoutMs} ms)`, service);
    setTimeout(() => {
      process.stderr.write(`shutdown did not finish within ${timeoutMs} ms; exiting\n`);
      process.exit(1);
    }, timeoutMs).unref();
    app.close().then(
      () => {
        Logger.log(`shut down cleanly in ${Date.now() - started} ms`, service);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
