import { newTraceparent, traceIdOf, traceparentOf, withLogContext } from '@platform/core';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { inServerSpan, serverSpanOf } from '../tracing/http-tracing';

export const CORRELATION_HEADER = 'x-correlation-id';
const VALID_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestContext {
  /** The caller's X-Correlation-Id, or a new one. */
  readonly correlationId: string;
  /**
   * The request's server span, when tracing records it; otherwise the caller's W3C traceparent,
   * or a new trace when it sent none (or an invalid one).
   */
  readonly traceparent: string;
}

const CONTEXT = Symbol('requestContext');
type WithContext = Request & { [CONTEXT]?: RequestContext };

/**
 * The request's correlation id and trace, decided once per request: its log lines, the
 * events it publishes and the handlers' @CorrelationId() all see the same ones.
 */
export function requestContext(request: Request): RequestContext {
  const carrier = request as WithContext;
  carrier[CONTEXT] ??= {
    correlationId: valid(firstHeader(request, CORRELATION_HEADER), (v) => VALID_CORRELATION_ID.test(v)) ?? randomUUID(),
    traceparent: traceparentOfRequest(request),
  };
  return carrier[CONTEXT];
}

/** The server span's, when one is recorded; otherwise the caller's, or a new trace. */
function traceparentOfRequest(request: Request): string {
  const received = valid(firstHeader(request, 'traceparent'), (v) => traceIdOf(v) !== undefined);
  const span = serverSpanOf(request);
  return (span && traceparentOf(span, received)) ?? received ?? newTraceparent();
}

/**
 * Express middleware: what the request runs (its handler, what that awaits) runs in its log
 * context and its server span.
 */
export function requestContextMiddleware(request: Request, _response: Response, next: NextFunction): void {
  inServerSpan(request, () => withLogContext(requestContext(request), next));
}

function firstHeader(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function valid(value: string | undefined, test: (value: string) => boolean): string | undefined {
  return value !== undefined && test(value) ? value : undefined;
}
