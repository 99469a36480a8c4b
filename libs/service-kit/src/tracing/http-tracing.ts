import { context, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { contextOf } from '@platform/core';
import type { NextFunction, Request, Response } from 'express';
import { routeLabel, UNMATCHED_ROUTE } from '../metrics/http-metrics';

const tracer = trace.getTracer('@platform/service-kit');

/** Probes come every few seconds from Kubernetes and Prometheus: no spans for them. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready', '/metrics']);

const SERVER_SPAN = Symbol('serverSpan');
type WithSpan = Request & { [SERVER_SPAN]?: { readonly span: Span; readonly context: Context } };

/**
 * Express middleware, first of all: the request's server span (HTTP semantic conventions),
 * a child of the caller's `traceparent` when it sent a valid one, named `<method> <route>` once
 * the route is known and ended when the response is. The request runs in its context; a
 * middleware after the body parser (which loses it) brings that context back (`inServerSpan`).
 */
export function httpTracingMiddleware(request: Request, response: Response, next: NextFunction): void {
  if (PROBE_PATHS.has(request.path)) {
    next();
    return;
  }
  const parent = contextOf(firstHeader(request, 'traceparent'));
  const span = tracer.startSpan(
    request.method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method,
        'url.path': request.path,
        'url.scheme': request.protocol,
        'server.port': request.socket.localPort,
        'network.protocol.version': request.httpVersion,
        'client.address': request.socket.remoteAddress,
        'user_agent.original': firstHeader(request, 'user-agent'),
      },
    },
    parent,
  );
  const active = trace.setSpan(parent, span);
  (request as WithSpan)[SERVER_SPAN] = { span, context: active };
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    const route = routeLabel(request);
    const status = response.statusCode;
    if (route !== UNMATCHED_ROUTE) {
      span.setAttribute('http.route', route);
      span.updateName(`${request.method} ${route}`);
    }
    span.setAttribute('http.response.status_code', status);
    // A server span fails on a 5xx only: a 4xx is the caller's mistake, answered as designed.
    if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    if (!response.writableFinished) span.setAttribute('error.type', 'aborted');
    span.end();
  };
  response.once('finish', end);
  response.once('close', end);
  context.with(active, next);
}

/** The request's server span, when httpTracingMiddleware started one. */
export function serverSpanOf(request: Request): Span | undefined {
  return (request as WithSpan)[SERVER_SPAN]?.span;
}

/** Runs `work` in the request's server span context (or the current one when it has none). */
export function inServerSpan<T>(request: Request, work: () => T): T {
  const started = (request as WithSpan)[SERVER_SPAN];
  return started ? context.with(started.context, work) : work();
}

function firstHeader(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
