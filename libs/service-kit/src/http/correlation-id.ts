import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { requestContext } from './request-context';

/** The caller's correlation id (X-Correlation-Id), or a new one: it follows every event caused. */
export const CorrelationId = createParamDecorator((_data: unknown, context: ExecutionContext): string => requestContext(context.switchToHttp().getRequest<Request>()).correlationId);
