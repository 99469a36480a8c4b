import { createHmac, randomBytes, randomUUID } from 'node:crypto';

/** The claims the services read: `sub` is the user's id, `roles` holds 'operator' for operators. */
export interface TokenClaims {
  readonly sub: string;
  readonly roles?: readonly string[];
  /** Seconds from now; negative for an expired token. Default: one hour. */
  readonly expiresInS?: number;
}

/** The role the services' operator-only routes require (service-kit's OPERATOR_ROLE). */
export const OPERATOR = 'operator';

/**
 * Mints HS256 bearer tokens the way an identity provider would, for services configured with
 * the same secret (AUTH_JWT_SECRET, or the development secret they fall back to). Synchronous
 * (node:crypto) so that a call site only adds a header; the services verify them with jose.
 */
export class TestTokens {
  /** An operator of this run, with an id of its own (not any user's). */
  readonly operatorId = randomUUID();

  constructor(
    readonly secret: string = randomBytes(32).toString('hex'),
    readonly issuer?: string,
    readonly audience?: string,
  ) {}

  /** A token for `claims`, signed with this secret. */
  token(claims: TokenClaims): string {
    const now = Math.floor(Date.now() / 1000);
    return signHs256(
      { sub: claims.sub, roles: claims.roles ?? [], iat: now, exp: now + (claims.expiresInS ?? 3600), ...(this.issuer ? { iss: this.issuer } : {}), ...(this.audience ? { aud: this.audience } : {}) },
      this.secret,
    );
  }

  /** Authorization header of the user with this id. */
  asUser(userId: string): Record<string, string> {
    return bearer(this.token({ sub: userId }));
  }

  /** Authorization header of this run's operator. */
  asOperator(): Record<string, string> {
    return bearer(this.token({ sub: this.operatorId, roles: [OPERATOR] }));
  }

  /** The environment that makes a service accept these tokens. */
  serviceEnv(): Record<string, string> {
    return { AUTH_JWT_SECRET: this.secret, ...(this.issuer ? { AUTH_ISSUER: this.issuer } : {}), ...(this.audience ? { AUTH_AUDIENCE: this.audience } : {}) };
  }
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** A compact JWS (RFC 7515) with HS256 over the JSON payload. */
export function signHs256(payload: Record<string, unknown>, secret: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}
