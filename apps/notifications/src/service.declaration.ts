import { NotificationSent } from '@platform/contracts';
import type { ServiceDeclaration } from '@platform/service-kit';
import { EndpointAuditUseCase } from './audit/endpoint-audit.use-case';
import { ClosureNoticesUseCase } from './closure/closure-notices.use-case';
import { EndpointDigestUseCase } from './digest/endpoint-digest.use-case';
import { TemplateCacheUseCase } from './templates/template-cache.use-case';
import { WelcomeUseCase } from './welcome/welcome.use-case';

/** What this service publishes and consumes; the AppModule and the deployment generator read it. */
export const DECLARATION = {
  service: 'notifications',
  defaultPort: 3004,
  publishes: [NotificationSent],
  useCases: [TemplateCacheUseCase, WelcomeUseCase, EndpointAuditUseCase, EndpointDigestUseCase, ClosureNoticesUseCase],
} satisfies ServiceDeclaration;
