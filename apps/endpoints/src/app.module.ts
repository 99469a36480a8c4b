import { Module } from '@nestjs/common';
import { EVENT_STORE_MIGRATIONS } from '@platform/event-store';
import { ServiceKitModule } from '@platform/service-kit';
import { DECLARATION } from './service.declaration';
import { ApiCommands } from './apis/api-commands';
import { ApisController } from './apis/apis.controller';
import { ApiCatalogQueries } from './catalog/api-catalog.queries';
import { ProjectionsController } from './catalog/projections.controller';
import { eventStoreProvider, Projections } from './event-store/event-store.providers';
import { API_CATALOG } from './migrations/1764300000000-api-catalog';
import { API_RETENTION } from './migrations/1764500000000-api-retention';
import { ApiRetirement } from './retirement/api-retirement';

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...DECLARATION,
      entities: [],
      libraryMigrations: EVENT_STORE_MIGRATIONS,
      migrations: [API_CATALOG, API_RETENTION],
    }),
  ],
  controllers: [ApisController, ProjectionsController],
  providers: [eventStoreProvider, Projections, ApiCommands, ApiCatalogQueries, ApiRetirement, ...DECLARATION.useCases],
})
export class AppModule {}
