import { ArgumentsHost, Catch, ForbiddenException, UnauthorizedException, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CORRELATION_HEADER, requestContext } from '../http/request-context';
import { MissingToken } from './auth.guard';

/**
 * 401 and 403 in the services' error body ({ statusCode, error, message }) with the request's
 * correlation id, in the body and in X-Correlation-Id, so a refused call can be traced in the
 * logs. A 401 says how to authenticate (WWW-Authenticate: Bearer), and, when a token was sent,
 * that it was refused (error="invalid_token").
 */
@Catch(UnauthorizedException, ForbiddenException)
export class AuthErrorFilter implements ExceptionFilter {
  catch(error: UnauthorizedException | ForbiddenException, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const { correlationId } = requestContext(request);
    const unauthorized = error instanceof UnauthorizedException;
    if (unauthorized) {
      response.setHeader('WWW-Authenticate', error instanceof MissingToken ? 'Bearer realm="platform"' : `Bearer realm="platform", error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`);
    }
    response
      .status(error.getStatus())
      .setHeader(CORRELATION_HEADER, correlationId)
      .json({ statusCode: error.getStatus(), error: unauthorized ? 'Unauthorized' : 'Forbidden', message: error.message, correlationId });
  }
}
