import { ApiCreated, ApiRetirementRefused, ApisRestored, ApisRetired, ApiUpdated, EndpointRemoved, EndpointUpdated } from '@platform/contracts';
import type { ServiceDeclaration } from '@platform/service-kit';
import { RestoreApisUseCase } from './retirement/restore-apis.use-case';
import { RetireApisUseCase } from './retirement/retire-apis.use-case';

/** What this service publishes and consumes; the AppModule and the deployment generator read it. */
export const DECLARATION = {
  service: 'endpoints',
  defaultPort: 3002,
  publishes: [ApiCreated, ApiUpdated, EndpointUpdated, EndpointRemoved, ApisRetired, ApiRetirementRefused, ApisRestored],
  useCases: [RetireApisUseCase, RestoreApisUseCase],
} satisfies ServiceDeclaration;
