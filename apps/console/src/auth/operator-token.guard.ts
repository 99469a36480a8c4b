import { ForbiddenException, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { ConsoleSettings } from '../settings';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Whether a request may change something (redrive, rebuild): no bearer token is 401, a wrong one
 * 403. Compared in constant time over digests, so neither the token nor its length leaks.
 */
export function operatorAccess(authorization: string | undefined, token: string): 'allowed' | 'missing' | 'wrong' {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return 'missing';
  return timingSafeEqual(digest(match[1]), digest(token)) ? 'allowed' : 'wrong';
}

@Injectable()
export class OperatorTokenGuard implements CanActivate {
  constructor(private readonly settings: ConsoleSettings) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    const access = operatorAccess(request.headers.authorization, this.settings.config.operatorToken);
    if (access === 'missing') throw new UnauthorizedException('this action needs the operator token: Authorization: Bearer <CONSOLE_TOKEN>');
    if (access === 'wrong') throw new ForbiddenException('the operator token is wrong');
    return true;
  }
}
