import 'reflect-metadata';
import { bootstrapService } from '@platform/service-kit';
import { AppModule, SERVICE } from './app.module';

bootstrapService(AppModule, {
  ...SERVICE,
  title: 'Users',
  description: 'Registers, renames and deactivates users. Publishes UserCreated, UserRenamed and UserDeactivated.',
});
