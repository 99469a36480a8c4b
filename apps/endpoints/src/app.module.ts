import { Module } from '@nestjs/common';
import { ApiCreated, ApiUpdated, EndpointRemoved, EndpointUpdated } from '@platform/contracts';
import { EVENT_STORE_MIGRATIONS } from '@platform/event-store';
import { ServiceKitModule } from '@platform/service-kit';
import { ApiCommands } from './apis/api-commands';
import { ApisController } from './apis/apis.controller';
import { ApiCatalogQueries } from './catalog/api-catalog.queries';
import { ProjectionsController } from './catalog/projections.controller';
import { eventStoreProvider, Projections } from './event-store/event-store.providers';
import { ApiCatalog1764300000000 } from './migrations/1764300000000-api-catalog';

export const SERVICE = { service: 'endpoints', defaultPort: 3002 } as const;

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...SERVICE,
      entities: [],
      libraryMigrations: EVENT_STORE_MIGRATIONS,
      migrations: [ApiCatalog1764300000000],
      publishes: [ApiCreated, ApiUpdated, EndpointUpdated, EndpointRemoved],
    }),
  ],
  controllers: [ApisController, ProjectionsController],
  providers: [eventStoreProvider, Projections, ApiCommands, ApiCatalogQueries],
})
export class AppModule {}
