import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { flattenValidationErrors } from '@platform/contracts';

/**
 * Request bodies are validated against their DTO classes: unknown fields and bad values give
 * 400 with one entry per offending field, never a 500.
 */
export function requestValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) =>
      new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'Request validation failed', fields: flattenValidationErrors(errors) }),
  });
}
