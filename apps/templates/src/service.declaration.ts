import { TemplateUpdated } from '@platform/contracts';
import type { ServiceDeclaration } from '@platform/service-kit';

/** What this service publishes and consumes; the AppModule and the deployment generator read it. */
export const DECLARATION = {
  service: 'templates',
  defaultPort: 3003,
  publishes: [TemplateUpdated],
  useCases: [],
} satisfies ServiceDeclaration;
