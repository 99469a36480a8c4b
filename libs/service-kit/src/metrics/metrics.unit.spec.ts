import type { AddressInfo } from 'node:net';
import express from 'express';
import { httpMetricsMiddleware, routeLabel, UNMATCHED_ROUTE } from './http-metrics';
import { PrometheusMetrics } from './prometheus-metrics';

/** The value of one series in a Prometheus text exposition, or undefined when it is absent. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('routeLabel', () => {
  it('is the matched route template, never the raw path', () => {
    expect(routeLabel({ route: { path: '/apis/:id' }, baseUrl: '' })).toBe('/apis/:id');
    expect(routeLabel({ route: { path: '/:id' }, baseUrl: '/users' })).toBe('/users/:id');
    expect(routeLabel({ route: { path: '/' }, baseUrl: '' })).toBe('/');
    // The catch-all of middleware mounted on every path is not a route: unmatched.
    expect(routeLabel({ route: { path: '/{*splat}' }, baseUrl: '' })).toBe(UNMATCHED_ROUTE);
  });

  it('is the mount path for handlers without routes, and one label for everything unmatched', () => {
    expect(routeLabel({ baseUrl: '/docs' })).toBe('/docs/*');
    expect(routeLabel({ baseUrl: '' })).toBe(UNMATCHED_ROUTE);
    expect(routeLabel({})).toBe(UNMATCHED_ROUTE);
    // A route given as a pattern object is not turned into a label.
    expect(routeLabel({ route: { path: /^\/x/ }, baseUrl: '' })).toBe(UNMATCHED_ROUTE);
  });
});

describe('PrometheusMetrics', () => {
  const handled = { name: 'test_events_handled_total', help: 'handled', labelNames: ['use_case'] };

  it('counts into bound series, one per label set, shown from creation with 0', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const welcome = metrics.counter(handled, { use_case: 'welcome' });
    metrics.counter(handled, { use_case: 'audit' });
    welcome.inc();
    welcome.inc(2);
    metrics.counter(handled, { use_case: 'welcome' }).inc();
    const text = await metrics.scrape();
    expect(text).toContain('# TYPE test_events_handled_total counter');
    expect(valueOf(text, 'test_events_handled_total{use_case="welcome"}')).toBe(4);
    expect(valueOf(text, 'test_events_handled_total{use_case="audit"}')).toBe(0);
  });

  it('reads gauges and counter totals on scrape, from every reader of a family; a failing reader is left out', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    let rows = 3;
    metrics.collect({ name: 'test_rows', help: 'rows', type: 'gauge' }, () => [{ value: rows }]);
    const lag = { name: 'test_lag_messages', help: 'lag', labelNames: ['group'], type: 'gauge' as const };
    metrics.collect(lag, async () => [{ labels: { group: 'a' }, value: 1 }]);
    const stop = metrics.collect(lag, async () => [{ labels: { group: 'b' }, value: 2 }]);
    metrics.collect(lag, async () => {
      throw new Error('broker away');
    });
    metrics.collect({ name: 'test_sent_total', help: 'sent', type: 'counter' }, () => [{ value: 42 }]);
    let text = await metrics.scrape();
    expect(valueOf(text, 'test_rows')).toBe(3);
    expect(valueOf(text, 'test_lag_messages{group="a"}')).toBe(1);
    expect(valueOf(text, 'test_lag_messages{group="b"}')).toBe(2);
    expect(valueOf(text, 'test_sent_total')).toBe(42);
    rows = 0;
    stop();
    text = await metrics.scrape();
    expect(valueOf(text, 'test_rows')).toBe(0);
    expect(valueOf(text, 'test_lag_messages{group="b"}')).toBeUndefined();
  });

  it('shows no line for an unlabelled gauge whose source did not answer (rather than a 0)', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    metrics.collect({ name: 'test_outbox_rows', help: 'rows', type: 'gauge' }, () => []);
    expect(valueOf(await metrics.scrape(), 'test_outbox_rows')).toBeUndefined();
  });

  it('observes histograms with buckets, sum and count', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const family = { name: 'test_duration_seconds', help: 'duration', labelNames: ['use_case'], buckets: [0.1, 1] };
    const h = metrics.histogram(family, { use_case: 'welcome' });
    h.observe(0.05);
    h.observe(0.5);
    metrics.histogram(family, { use_case: 'welcome' }).observe(3);
    const text = await metrics.scrape();
    expect(valueOf(text, 'test_duration_seconds_bucket{le="0.1",use_case="welcome"}')).toBe(1);
    expect(valueOf(text, 'test_duration_seconds_bucket{le="1",use_case="welcome"}')).toBe(2);
    expect(valueOf(text, 'test_duration_seconds_bucket{le="+Inf",use_case="welcome"}')).toBe(3);
    expect(valueOf(text, 'test_duration_seconds_count{use_case="welcome"}')).toBe(3);
    expect(valueOf(text, 'test_duration_seconds_sum{use_case="welcome"}')).toBeCloseTo(3.55);
  });

  it('refuses a family asked for again with another kind or other labels', () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    metrics.counter(handled, { use_case: 'a' });
    expect(() => metrics.collect({ ...handled, type: 'gauge' }, () => [])).toThrow(/already registered as a counter/);
    expect(() => metrics.counter({ ...handled, labelNames: ['group'] }, { group: 'a' })).toThrow(/already registered/);
  });

  it('includes the default process metrics', async () => {
    const text = await new PrometheusMetrics().scrape();
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('httpMetricsMiddleware (on a real Express app)', () => {
  it('counts requests by route template, method and status, with their durations', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const app = express();
    app.use(httpMetricsMiddleware(metrics));
    app.get('/users/:id', (req, res) => void res.status(req.params.id === 'missing' ? 404 : 200).json({}));
    app.post('/users', (_req, res) => void res.status(201).json({}));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const id of ['a', 'b', 'missing']) await (await fetch(`${url}/users/${id}`)).text();
      for (let i = 0; i < 2; i++) await (await fetch(`${url}/users`, { method: 'POST' })).text();
      await (await fetch(`${url}/no/such/path/${Date.now()}`)).text();
      const text = await metrics.scrape();
      expect(valueOf(text, 'http_requests_total{route="/users/:id",method="GET",status="200"}')).toBe(2);
      expect(valueOf(text, 'http_requests_total{route="/users/:id",method="GET",status="404"}')).toBe(1);
      expect(valueOf(text, 'http_requests_total{route="/users",method="POST",status="201"}')).toBe(2);
      expect(valueOf(text, 'http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1);
      expect(valueOf(text, 'http_request_duration_seconds_count{route="/users",method="POST",status="201"}')).toBe(2);
      expect(text).not.toContain('/users/a');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
