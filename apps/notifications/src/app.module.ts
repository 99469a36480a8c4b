import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@platform/service-kit';
import { DECLARATION } from './service.declaration';
import { AuditController } from './audit/audit.controller';
import { NotificationsInit1764100000000 } from './migrations/1764100000000-notifications-init';
import { EndpointAuditDigest1764200000000 } from './migrations/1764200000000-endpoint-audit-digest';
import { NotificationsController } from './notifications/notifications.controller';

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...DECLARATION,
      entities: [],
      migrations: [NotificationsInit1764100000000, EndpointAuditDigest1764200000000],
    }),
  ],
  controllers: [NotificationsController, AuditController],
  providers: [...DECLARATION.useCases],
})
export class AppModule {}
