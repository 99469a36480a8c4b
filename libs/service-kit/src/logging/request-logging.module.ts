import { Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { requestContextMiddleware } from '../http/request-context';
import { processLogger } from './process-logger';
import { requestLogging } from './request-logging';

const EVERY_ROUTE = { path: '{*path}', method: RequestMethod.ALL };

/**
 * nestjs-pino's request lines, and every request handled in its log context (after the body
 * parser, which would otherwise lose it). The root logger is read when Nest builds the module,
 * after bootstrapService configured it.
 */
@Module({
  imports: [LoggerModule.forRootAsync({ useFactory: () => ({ pinoHttp: requestLogging(processLogger()), forRoutes: [EVERY_ROUTE] }) })],
})
export class RequestLoggingModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(requestContextMiddleware).forRoutes(EVERY_ROUTE);
  }
}
