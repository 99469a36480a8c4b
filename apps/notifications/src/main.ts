import 'reflect-metadata';
import { bootstrapService } from '@platform/service-kit';
import { AppModule } from './app.module';
import { DECLARATION } from './service.declaration';

bootstrapService(AppModule, {
  service: DECLARATION.service,
  defaultPort: DECLARATION.defaultPort,
  title: 'Notifications',
  description:
    'Consumes events through use cases, each in its own consumer group: template-cache (TemplateUpdated), welcome (UserCreated), endpoint-audit (every EndpointUpdated) and endpoint-digest (EndpointUpdated in 500 ms windows per API owner). Publishes NotificationSent.',
});
