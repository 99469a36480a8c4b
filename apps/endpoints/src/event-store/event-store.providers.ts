import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { PostgresEventStore, ProjectionRunner } from '@platform/event-store';
import { nestLogger, poolOf } from '@platform/service-kit';
import { DataSource } from 'typeorm';
import { apiCatalogProjection } from '../catalog/api-catalog.projection';

/** The service's event store, on its own database's pool. */
export const eventStoreProvider = {
  provide: PostgresEventStore,
  inject: [DataSource],
  useFactory: (dataSource: DataSource) => new PostgresEventStore(poolOf(dataSource), { logger: nestLogger('EventStore') }),
};

/** Keeps the read models (list and detail views) following the store while the service runs. */
@Injectable()
export class Projections implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly catalog: ProjectionRunner;

  constructor(store: PostgresEventStore) {
    this.catalog = new ProjectionRunner(store, apiCatalogProjection, { logger: nestLogger('Projection') });
  }

  onApplicationBootstrap(): void {
    this.catalog.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.catalog.stop();
  }
}
