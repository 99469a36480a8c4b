import { Module, type DynamicModule } from '@nestjs/common';
import { loadServiceConfig, type ServiceDefaults } from './service-config';
import { SERVICE_CONFIG } from '../tokens';

/** Provides the validated ServiceConfig; read when Nest builds the module, not at import. */
@Module({})
export class ServiceConfigModule {
  static forService(defaults: ServiceDefaults): DynamicModule {
    return {
      module: ServiceConfigModule,
      providers: [{ provide: SERVICE_CONFIG, useFactory: () => loadServiceConfig(defaults) }],
      exports: [SERVICE_CONFIG],
    };
  }
}
