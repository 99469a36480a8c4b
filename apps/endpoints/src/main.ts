import 'reflect-metadata';
import { bootstrapService } from '@platform/service-kit';
import { AppModule, SERVICE } from './app.module';

bootstrapService(AppModule, {
  ...SERVICE,
  title: 'Endpoints',
  description:
    'APIs and their endpoints, event-sourced: each API is a stream in the event store; the list and detail views are projections. Publishes ApiCreated, ApiUpdated, EndpointUpdated and EndpointRemoved.',
});
