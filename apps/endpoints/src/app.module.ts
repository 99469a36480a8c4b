import { Module } from '@nestjs/common';
import { ApiCreated, ApiUpdated, EndpointRemoved, EndpointUpdated } from '@platform/contracts';
import { ServiceKitModule } from '@platform/service-kit';

export const SERVICE = { service: 'endpoints', defaultPort: 3002 } as const;

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...SERVICE,
      entities: [],
      migrations: [],
      publishes: [ApiCreated, ApiUpdated, EndpointUpdated, EndpointRemoved],
    }),
  ],
})
export class AppModule {}
