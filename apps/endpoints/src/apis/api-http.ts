import { ArgumentsHost, BadRequestException, Catch, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import { ConcurrencyError } from '@platform/event-store';
import type { Response } from 'express';
import { CommandContention } from './api-commands';

/** `If-Match: "3"` (or W/"3", or 3) → 3; absent → undefined; anything else → 400. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
  if (!match) throw new BadRequestException(`If-Match must be an API version as given in its ETag, e.g. "3" (got ${header})`);
  return Number(match[1]);
}

export const etag = (version: number): string => `"${version}"`;

/** A write against an outdated version: 409 with the current version, also as ETag. */
@Catch(ConcurrencyError)
export class ConcurrencyErrorFilter implements ExceptionFilter {
  catch(error: ConcurrencyError, host: ArgumentsHost): void {
    host
      .switchToHttp()
      .getResponse<Response>()
      .status(HttpStatus.CONFLICT)
      .setHeader('ETag', etag(error.actual))
      .json({ statusCode: 409, error: 'Conflict', message: `the API changed: it is at version ${error.actual}, not ${String(error.expected)}`, currentVersion: error.actual });
  }
}

/** Seconds a client should wait before sending a contended change again. */
export const CONTENTION_RETRY_AFTER_S = 1;

/**
 * A change without If-Match that kept losing the race for the API's next version: 503 with
 * Retry-After, not 409. The client asserted no version, so there is no conflict to show it
 * or for it to resolve (a 409 invites re-reading and deciding again); the change was not
 * applied, and the same request, unchanged, is the right thing to send again later.
 */
@Catch(CommandContention)
export class CommandContentionFilter implements ExceptionFilter {
  catch(error: CommandContention, host: ArgumentsHost): void {
    host
      .switchToHttp()
      .getResponse<Response>()
      .status(HttpStatus.SERVICE_UNAVAILABLE)
      .setHeader('Retry-After', String(CONTENTION_RETRY_AFTER_S))
      .json({ statusCode: 503, error: 'Service Unavailable', code: 'contention', message: error.message, attempts: error.attempts });
  }
}
