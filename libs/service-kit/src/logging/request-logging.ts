import { traceIdOf, type Pino } from '@platform/core';
import { type LoggerService } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Logger, PinoLogger } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Options } from 'pino-http';
import { requestContext } from '../http/request-context';
import { routeLabel } from '../metrics/http-metrics';
import { PROBE_PATHS } from '../tracing/http-tracing';


/**
 * pino-http's settings: one line per finished request with its method, route template, status,
 * duration, correlation id and trace id; no headers, no bodies; 5xx at error, probes at debug.
 */
export function requestLogging(root: Pino): Options {
  const line = (request: IncomingMessage, response: ServerResponse, durationMs: number) => {
    const { correlationId, traceparent } = requestContext(request as Request);
    return { method: request.method, route: routeLabel(request as Request), status: response.statusCode, durationMs, correlationId, traceId: traceIdOf(traceparent) };
  };
  return {
    logger: root,
    // Only a request counter is bound to the lines Nest logs during a request, never headers.
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId' },
    customLogLevel: (request, response, error) => {
      // Probes come every few seconds from Kubernetes and Prometheus: their lines are debug, not info.
      if (PROBE_PATHS.has(routeLabel(request as Request))) return 'debug';
      return error || response.statusCode >= 500 ? 'error' : 'info';
    },
    customSuccessObject: (request, response, value: { responseTime: number }) => line(request, response as Response, value.responseTime),
    customErrorObject: (request, response, _error, value: { responseTime: number }) => line(request, response as Response, value.responseTime),
  };
}

/**
 * Nest's own lines (start-up, routes, unhandled errors) through the root logger, `context` on each.
 * nestjs-pino builds one pino-http instance per process, from the settings of whichever asks
 * first (this logger, made before the module), and its middleware reuses it: so these are the
 * request-line settings too, or the request lines lose their fields.
 */
export function nestLoggerOver(root: Pino): LoggerService {
  return new Logger(new PinoLogger({ pinoHttp: requestLogging(root) }), {});
}
