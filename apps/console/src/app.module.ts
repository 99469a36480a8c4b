import { Module, type DynamicModule } from '@nestjs/common';
import { ApiController } from './api.controller';
import { OperatorTokenGuard } from './auth/operator-token.guard';
import { ServiceTokens } from './auth/service-token';
import { DeadLetterView } from './dead-letters/dead-letter-view';
import { HealthController } from './health.controller';
import { KafkaAccess } from './kafka/kafka-access';
import { LagReader } from './lag/lag-reader';
import { PageController } from './page/page.controller';
import { ProjectionsClient } from './projections/projections';
import { SagasClient } from './sagas/sagas-client';
import { CorrelationSearch } from './search/correlation-trail';
import { ServiceStatusReader } from './services/service-status';
import { ConsoleSettings } from './settings';

@Module({})
export class AppModule {
  static forSettings(settings: ConsoleSettings): DynamicModule {
    return {
      module: AppModule,
      controllers: [PageController, ApiController, HealthController],
      providers: [{ provide: ConsoleSettings, useValue: settings }, KafkaAccess, ServiceStatusReader, LagReader, DeadLetterView, CorrelationSearch, ProjectionsClient, SagasClient, OperatorTokenGuard, ServiceTokens],
    };
  }
}
