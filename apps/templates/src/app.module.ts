import { Module } from '@nestjs/common';
import { TemplateUpdated } from '@platform/contracts';
import { ServiceKitModule } from '@platform/service-kit';
import { TemplatesInit1764100000000 } from './migrations/1764100000000-templates-init';
import { TemplateEntity } from './templates/template.entity';
import { TemplatesController } from './templates/templates.controller';
import { TemplatesService } from './templates/templates.service';

export const SERVICE = { service: 'templates', defaultPort: 3003 } as const;

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...SERVICE,
      entities: [TemplateEntity],
      migrations: [TemplatesInit1764100000000],
      publishes: [TemplateUpdated],
    }),
  ],
  controllers: [TemplatesController],
  providers: [TemplatesService],
})
export class AppModule {}
