import { ForbiddenException, Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { SERVICE_CONFIG } from '../tokens';
import type { ServiceConfig } from '../config/service-config';
import { attachCaller, PUBLIC_ROUTE, REQUIRED_ROLES } from './auth.decorators';
import { InvalidToken, TokenVerifier } from './token-verifier';

/** Says why a 401 was given, for the WWW-Authenticate header (RFC 6750 §3). */
export class MissingToken extends UnauthorizedException {}
export class RefusedToken extends UnauthorizedException {}

/**
 * Every route of every service needs a verified bearer token, except those marked @Public();
 * routes with @RequireRoles() also need those roles. Installed once, globally, by the kit.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly verifier: TokenVerifier;

  constructor(
    private readonly reflector: Reflector,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.verifier = new TokenVerifier(config.auth);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<Request>();
    const token = bearerToken(request);
    if (token === undefined) throw new MissingToken('a bearer token is required (Authorization: Bearer <JWT>)');
    let caller;
    try {
      caller = await this.verifier.verify(token);
    } catch (error) {
      if (error instanceof InvalidToken) throw new RefusedToken(error.message);
      throw error;
    }
    attachCaller(request, caller);
    const required = this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_ROLES, targets) ?? [];
    const missing = required.filter((role) => !caller.roles.includes(role));
    if (missing.length > 0) throw new ForbiddenException(`this needs the role ${missing.join(', ')}`);
    return true;
  }
}

function bearerToken(request: Request): string | undefined {
  const match = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}
