import 'reflect-metadata';
import { bootstrapService } from '@platform/service-kit';
import { AppModule } from './app.module';
import { DECLARATION } from './service.declaration';

bootstrapService(AppModule, {
  service: DECLARATION.service,
  defaultPort: DECLARATION.defaultPort,
  title: 'Users',
  description: 'Registers, renames and deactivates users. Publishes UserCreated, UserRenamed and UserDeactivated.',
});
