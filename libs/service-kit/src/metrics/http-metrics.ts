import { DURATION_BUCKETS_SECONDS, secondsSince, type CounterHandle, type HistogramHandle, type Metrics } from '@platform/core';
import type { NextFunction, Request, Response } from 'express';

export const HTTP_METRICS = {
  requests: { name: 'http_requests_total', help: 'HTTP requests answered, by route template, method and status.', labelNames: ['route', 'method', 'status'] },
  duration: {
    name: 'http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to finishing its response, by route template, method and status.',
    labelNames: ['route', 'method', 'status'],
    buckets: DURATION_BUCKETS_SECONDS,
  },
} as const;

/** Requests no route matched (404s of unknown paths): one label for all, so scanners cannot create series. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The route label of a finished request: the template it matched (`/users/:id`), never the
 * raw path; for a mounted handler without routes of its own (the OpenAPI UI's static files)
 * its mount path and `/*`; otherwise `unmatched`.
 */
export function routeLabel(request: { readonly route?: { readonly path?: unknown }; readonly baseUrl?: string }): string {
  const path = request.route?.path;
  // A catch-all (the request-logging middleware is mounted on every path) is no route of ours.
  if (typeof path === 'string' && path.includes('*')) return request.baseUrl ? `${request.baseUrl}/*` : UNMATCHED_ROUTE;
  if (typeof path === 'string') return `${request.baseUrl ?? ''}${path}` || '/';
  if (request.baseUrl) return `${request.baseUrl}/*`;
  return UNMATCHED_ROUTE;
}

/** Methods Express knows; anything else is counted as OTHER (the label set stays bounded). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Express middleware counting every request once its response is finished (requests the
 * client abandoned before that are not counted), with its duration.
 */
export function httpMetricsMiddleware(metrics: Metrics): (request: Request, response: Response, next: NextFunction) => void {
  const series = new Map<string, { readonly requests: CounterHandle; readonly duration: HistogramHandle }>();
  const seriesOf = (route: string, method: string, status: string) => {
    const key = `${route} ${method} ${status}`;
    let found = series.get(key);
    if (!found) {
      const labels = { route, method, status };
      found = { requests: metrics.counter(HTTP_METRICS.requests, labels), duration: metrics.histogram(HTTP_METRICS.duration, labels) };
      series.set(key, found);
    }
    return found;
  };
  return (request, response, next) => {
    const started = performance.now();
    response.once('finish', () => {
      const method = METHODS.has(request.method) ? request.method : 'OTHER';
      const { requests, duration } = seriesOf(routeLabel(request), method, String(response.statusCode));
      requests.inc();
      duration.observe(secondsSince(started));
    });
    next();
  };
}
