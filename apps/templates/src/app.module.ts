import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@platform/service-kit';
import { DECLARATION } from './service.declaration';
import { TEMPLATES_INIT } from './migrations/1764100000000-templates-init';
import { TemplateEntity } from './templates/template.entity';
import { TemplatesController } from './templates/templates.controller';
import { TemplatesService } from './templates/templates.service';

@Module({
  imports: [
    ServiceKitModule.forRoot({
      ...DECLARATION,
      entities: [TemplateEntity],
      migrations: [TEMPLATES_INIT],
    }),
  ],
  controllers: [TemplatesController],
  providers: [TemplatesService],
})
export class AppModule {}
