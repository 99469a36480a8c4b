import { Module } from '@nestjs/common';
import { NotificationSent } from '@platform/contracts';
import { ServiceKitModule } from '@platform/service-kit';
import { NotificationsInit1764100000000 } from './migrations/1764100000000-notifications-init';
import { NotificationsController } from './notifications/notifications.controller';
import { TemplateCacheUseCase } from './templates/template-cache.use-case';
import { WelcomeUseCase } from './welcome/welcome.use-case';

export const SERVICE = { service: 'notifications', defaultPort: 3004 } as const;

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...SERVICE,
      entities: [],
      migrations: [NotificationsInit1764100000000],
      publishes: [NotificationSent],
      useCases: [TemplateCacheUseCase, WelcomeUseCase],
    }),
  ],
  controllers: [NotificationsController],
  providers: [TemplateCacheUseCase, WelcomeUseCase],
})
export class AppModule {}
