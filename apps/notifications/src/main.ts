import 'reflect-metadata';
import { bootstrapService } from '@platform/service-kit';
import { AppModule, SERVICE } from './app.module';

bootstrapService(AppModule, {
  ...SERVICE,
  title: 'Notifications',
  description:
    'Consumes events through use cases, each in its own consumer group: template-cache (TemplateUpdated), welcome (UserCreated), endpoint-audit (every EndpointUpdated) and endpoint-digest (EndpointUpdated in 500 ms windows per API owner). Publishes NotificationSent.',
});
