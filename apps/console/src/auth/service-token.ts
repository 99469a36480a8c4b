import { Injectable } from '@nestjs/common';
import { OPERATOR_ROLE } from '@platform/service-kit';
import { SignJWT } from 'jose';
import { ConsoleSettings } from '../settings';

/** The subject of the console's tokens: the services log it as the caller of every read. */
export const CONSOLE_SUBJECT = 'platform-console';
/** Short-lived, so a token that leaks (a log, a proxy) is soon worthless. */
const LIFETIME_S = 300;
/** Renewed this long before it expires, so no request carries a token about to lapse in flight. */
const RENEW_BEFORE_S = 60;

/**
 * The console calls the services' operator routes (`/projections`, `/sagas`) as an operator. It
 * signs its own short-lived tokens with the secret the services verify with (AUTH_JWT_SECRET, or
 * the development secret when none is set), with their issuer and audience: no long-lived token
 * to hand out, store and rotate.
 */
@Injectable()
export class ServiceTokens {
  private current?: { readonly token: string; readonly expiresAt: number };

  constructor(private readonly settings: ConsoleSettings) {}

  /** The Authorization header for a call to a service. */
  async headers(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.token()}` };
  }

  private async token(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    if (this.current && this.current.expiresAt - RENEW_BEFORE_S > now) return this.current.token;
    const { secret, issuer, audience } = this.settings.config.serviceAuth;
    let jwt = new SignJWT({ roles: [OPERATOR_ROLE] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(CONSOLE_SUBJECT)
      .setIssuedAt(now)
      .setExpirationTime(now + LIFETIME_S);
    if (issuer) jwt = jwt.setIssuer(issuer);
    if (audience) jwt = jwt.setAudience(audience);
    const token = await jwt.sign(new TextEncoder().encode(secret));
    this.current = { token, expiresAt: now + LIFETIME_S };
    return token;
  }
}
