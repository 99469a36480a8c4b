import 'reflect-metadata';
import { bootstrapService } from '@platform/service-kit';
import { AppModule, SERVICE } from './app.module';

bootstrapService(AppModule, {
  ...SERVICE,
  title: 'Templates',
  description: 'Notification templates, versioned by revision. Publishes TemplateUpdated.',
});
