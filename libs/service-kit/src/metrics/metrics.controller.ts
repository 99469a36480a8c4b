import { Public } from '../auth/auth.decorators';
import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { PrometheusMetrics } from './prometheus-metrics';

/**
 * GET /metrics: the service's metrics in the Prometheus text format, on the API's port, with no
 * authentication (like /health/*). Values read on scrape (consumer lag, the outbox, projections)
 * are cached about 2 s and never wait long for Kafka or the database.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: PrometheusMetrics) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
