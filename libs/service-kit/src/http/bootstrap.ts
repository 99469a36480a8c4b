import { errorFields, type Pino } from '@platform/core';
import { type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ConfigurationError } from '../config/env';
import { loadServiceConfig, type ServiceConfig } from '../config/service-config';
import { configureProcessLogger, serviceLogger } from '../logging/process-logger';
import { MessagingLifecycle } from '../messaging/messaging-lifecycle';
import { nestLoggerOver } from '../logging/request-logging';
import { httpMetricsMiddleware } from '../metrics/http-metrics';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { httpTracingMiddleware } from '../tracing/http-tracing';
import { startTracing } from '../tracing/tracing';
import { AuthErrorFilter } from '../auth/auth-error.filter';
import { declareBearerSecurity } from '../auth/openapi-security';
import { DomainErrorFilter } from './errors';
import { requestValidationPipe } from './validation';

const lifecycle = serviceLogger('Lifecycle');
/** sysexits.h: a configuration error. */
const EX_CONFIG = 78;

export interface BootstrapOptions {
  readonly service: string;
  readonly defaultPort: number;
  readonly title: string;
  readonly description: string;
}

/**
 * Starts a service: configuration checked first (a bad variable stops it with a message
 * naming it), logs through pino (LOG_LEVEL, LOG_FORMAT), OpenTelemetry when the OTEL_*
 * variables ask for it, then createServiceApp, and graceful
 * shutdown on SIGTERM/SIGINT bounded by SHUTDOWN_TIMEOUT_MS.
 */
export async function bootstrapService(appModule: Type<unknown>, options: BootstrapOptions): Promise<INestApplication> {
  let config: ServiceConfig;
  try {
    config = loadServiceConfig({ service: options.service, port: options.defaultPort });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${options.service}: ${error.message}\n`);
      process.exit(EX_CONFIG);
    }
    throw error;
  }
  const root = configureProcessLogger({ service: options.service, level: config.logLevel, format: config.logFormat });
  await startTracing(options.service, config.tracing);
  const app = await createServiceApp(appModule, options, root);
  const shutdown = installGracefulShutdown(app, config.shutdownTimeoutMs);
  // A topic whose partition count differs from its contract is a configuration error like a bad variable.
  void app.get(MessagingLifecycle).refused.then((error) => shutdown(`refusing to start: ${error.name}: ${error.message}`, EX_CONFIG));
  await app.listen(config.port, '0.0.0.0');
  lifecycle.info(`${options.title} listening on http://127.0.0.1:${config.port} (OpenAPI: /docs)`);
  return app;
}

/**
 * A service's Nest application, not listening yet: Nest's lines through `root`, a server span
 * per request, request validation, 401/403 bodies with the correlation id, OpenAPI at /docs and
 * /docs-json (with its bearer security scheme), HTTP request metrics
 * (served at /metrics).
 */
export async function createServiceApp(appModule: Type<unknown>, options: Pick<BootstrapOptions, 'title' | 'description'>, root: Pino): Promise<INestApplication> {
  const app = await NestFactory.create(appModule, { logger: nestLoggerOver(root), abortOnError: false });
  // First, so every request has its span (the probes' excepted) and is counted, those no route matches included.
  app.use(httpTracingMiddleware);
  app.use(httpMetricsMiddleware(app.get(PrometheusMetrics)));
  app.useGlobalPipes(requestValidationPipe());
  app.useGlobalFilters(new DomainErrorFilter(), new AuthErrorFilter());

  const document = declareBearerSecurity(SwaggerModule.createDocument(app, new DocumentBuilder().setTitle(options.title).setDescription(options.description).setVersion('1').build()));
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}

/**
 * SIGTERM/SIGINT: stop accepting requests, let messaging finish or hand back its work (the
 * lifecycle hooks), then exit 0. If that hangs past the deadline, exit 1 anyway: Kubernetes
 * would SIGKILL us a little later. The returned function shuts down the same way for another
 * reason, exiting with its code whatever happens.
 */
function installGracefulShutdown(app: INestApplication, timeoutMs: number): (reason: string, exitCode: number) => void {
  let stopping = false;
  const shutdown = (reason: string, exitCode: number | undefined) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    const line = `${reason}; shutting down (deadline ${timeoutMs} ms)`;
    if (exitCode) lifecycle.error(line);
    else lifecycle.info(line);
    setTimeout(() => {
      lifecycle.error(`shutdown did not finish within ${timeoutMs} ms; exiting`);
      process.exit(exitCode ?? 1);
    }, timeoutMs).unref();
    app.close().then(
      () => {
        lifecycle.info(`shut down cleanly in ${Date.now() - started} ms`);
        process.exit(exitCode ?? 0);
      },
      (error: unknown) => {
        lifecycle.error('shutdown failed', errorFields(error));
        process.exit(exitCode ?? 1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM received', undefined));
  process.on('SIGINT', () => shutdown('SIGINT received', undefined));
  return shutdown;
}
