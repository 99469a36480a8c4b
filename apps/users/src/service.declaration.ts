import { UserCreated, UserDeactivated, UserRenamed } from '@platform/contracts';
import type { ServiceDeclaration } from '@platform/service-kit';

/** What this service publishes and consumes; the AppModule and the deployment generator read it. */
export const DECLARATION = {
  service: 'users',
  defaultPort: 3001,
  publishes: [UserCreated, UserRenamed, UserDeactivated],
  useCases: [],
} satisfies ServiceDeclaration;
