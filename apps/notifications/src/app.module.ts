import { Module } from '@nestjs/common';
import { NotificationSent } from '@platform/contracts';
import { ServiceKitModule } from '@platform/service-kit';
import { AuditController } from './audit/audit.controller';
import { EndpointAuditUseCase } from './audit/endpoint-audit.use-case';
import { EndpointDigestUseCase } from './digest/endpoint-digest.use-case';
import { NotificationsInit1764100000000 } from './migrations/1764100000000-notifications-init';
import { EndpointAuditDigest1764200000000 } from './migrations/1764200000000-endpoint-audit-digest';
import { NotificationsController } from './notifications/notifications.controller';
import { TemplateCacheUseCase } from './templates/template-cache.use-case';
import { WelcomeUseCase } from './welcome/welcome.use-case';

export const SERVICE = { service: 'notifications', defaultPort: 3004 } as const;

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...SERVICE,
      entities: [],
      migrations: [NotificationsInit1764100000000, EndpointAuditDigest1764200000000],
      publishes: [NotificationSent],
      useCases: [TemplateCacheUseCase, WelcomeUseCase, EndpointAuditUseCase, EndpointDigestUseCase],
    }),
  ],
  controllers: [NotificationsController, AuditController],
  providers: [TemplateCacheUseCase, WelcomeUseCase, EndpointAuditUseCase, EndpointDigestUseCase],
})
export class AppModule {}
