import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { Request } from 'express';
import type { Caller } from './caller';

export const PUBLIC_ROUTE = 'platform:public-route';
export const REQUIRED_ROLES = 'platform:required-roles';
const CALLER = Symbol('caller');

/** Marks a public operation in the OpenAPI document until `declareBearerSecurity` turns it into `security: []`. */
export const PUBLIC_OPERATION_EXTENSION = 'x-platform-public';

/** The route answers without a token (health checks, metrics): the only exception to the guard. */
export const Public = () => applyDecorators(SetMetadata(PUBLIC_ROUTE, true), ApiExtension(PUBLIC_OPERATION_EXTENSION, true));

/** The route needs every one of these roles in the token (e.g. OPERATOR_ROLE); otherwise 403. */
export const RequireRoles = (...roles: string[]) => SetMetadata(REQUIRED_ROLES, roles);

/** The verified caller of a protected route (the guard put it on the request). */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => callerOfRequest(context.switchToHttp().getRequest<Request>()));

export function attachCaller(request: Request, caller: Caller): void {
  (request as Request & { [CALLER]?: Caller })[CALLER] = caller;
}

export function callerOfRequest(request: Request): Caller {
  const caller = (request as Request & { [CALLER]?: Caller })[CALLER];
  // Only a @Public() route has none, and such a route must not ask for it.
  if (!caller) throw new Error('no verified caller on this request: is the route @Public()?');
  return caller;
}
