import { ArgumentsHost, Catch, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';

/**
 * A command the domain refuses (a deactivated user renamed, a duplicate endpoint): the
 * request was well-formed but cannot be carried out, so 422 with a stable code.
 */
export class BusinessRuleViolation extends Error {
  readonly retriable = false;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BusinessRuleViolation';
  }
}

/** The domain was asked about something that does not exist: 404. */
export class EntityNotFound extends Error {
  readonly retriable = false;
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} not found`);
    this.name = 'EntityNotFound';
  }
}

@Catch(BusinessRuleViolation, EntityNotFound)
export class DomainErrorFilter implements ExceptionFilter {
  catch(error: BusinessRuleViolation | EntityNotFound, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof EntityNotFound) {
      response.status(HttpStatus.NOT_FOUND).json({ statusCode: 404, error: 'Not Found', message: error.message });
      return;
    }
    response.status(HttpStatus.UNPROCESSABLE_ENTITY).json({ statusCode: 422, error: 'Unprocessable Entity', code: error.code, message: error.message });
  }
}
