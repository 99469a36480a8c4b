import { ApiCreated, ApiUpdated, EndpointRemoved, EndpointUpdated } from '@platform/contracts';
import type { ServiceDeclaration } from '@platform/service-kit';

/** What this service publishes and consumes; the AppModule and the deployment generator read it. */
export const DECLARATION = {
  service: 'endpoints',
  defaultPort: 3002,
  publishes: [ApiCreated, ApiUpdated, EndpointUpdated, EndpointRemoved],
  useCases: [],
} satisfies ServiceDeclaration;
