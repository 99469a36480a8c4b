import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@platform/service-kit';
import { DECLARATION } from './service.declaration';
import { AuditController } from './audit/audit.controller';
import { NOTIFICATIONS_INIT } from './migrations/1764100000000-notifications-init';
import { ENDPOINT_AUDIT_DIGEST } from './migrations/1764200000000-endpoint-audit-digest';
import { NotificationsController } from './notifications/notifications.controller';

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...DECLARATION,
      entities: [],
      migrations: [NOTIFICATIONS_INIT, ENDPOINT_AUDIT_DIGEST],
    }),
  ],
  controllers: [NotificationsController, AuditController],
  providers: [...DECLARATION.useCases],
})
export class AppModule {}
