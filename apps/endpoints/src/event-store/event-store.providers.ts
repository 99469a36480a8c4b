import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Metrics } from '@platform/core';
import { PostgresEventStore, ProjectionRunner } from '@platform/event-store';
import { METRICS, poolOf, serviceLogger } from '@platform/service-kit';
import { DataSource } from 'typeorm';
import { apiCatalogProjection } from '../catalog/api-catalog.projection';

/** The service's event store, on its own database's pool, reporting its hold-back at /metrics. */
export const eventStoreProvider = {
  provide: PostgresEventStore,
  inject: [DataSource, METRICS],
  useFactory: (dataSource: DataSource, metrics: Metrics) => new PostgresEventStore(poolOf(dataSource), { logger: serviceLogger('EventStore'), metrics }),
};

/** Keeps the read models (list and detail views) following the store while the service runs. */
@Injectable()
export class Projections implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly catalog: ProjectionRunner;

  constructor(store: PostgresEventStore, @Inject(METRICS) metrics: Metrics) {
    this.catalog = new ProjectionRunner(store, apiCatalogProjection, { logger: serviceLogger('Projection'), metrics });
  }

  onApplicationBootstrap(): void {
    this.catalog.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.catalog.stop();
  }
}
