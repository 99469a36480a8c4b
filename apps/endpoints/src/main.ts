import 'reflect-metadata';
import { bootstrapService } from '@platform/service-kit';
import { AppModule } from './app.module';
import { DECLARATION } from './service.declaration';

bootstrapService(AppModule, {
  service: DECLARATION.service,
  defaultPort: DECLARATION.defaultPort,
  title: 'Endpoints',
  description:
    'APIs and their endpoints, event-sourced: each API is a stream in the event store; the list and detail views are projections. Publishes ApiCreated, ApiUpdated, EndpointUpdated and EndpointRemoved.',
});
