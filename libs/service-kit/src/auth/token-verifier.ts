import { ServiceUnavailableException } from '@nestjs/common';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthSettings } from './auth-settings';
import type { Caller } from './caller';

/** Why a bearer token was refused: the message goes to the 401 body, never the token. */
export class InvalidToken extends Error {
  override readonly name = 'InvalidToken';
  readonly retriable = false;
}

/** Asymmetric algorithms an identity provider's JWKS may use; HS256 only with a shared secret. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/**
 * Verifies bearer JWTs with jose: signature (a JWKS fetched and cached by jose, or the shared
 * secret), expiry and not-before (30 s of clock skew), issuer and audience when configured;
 * then the claims: `sub` a non-empty string, `roles` absent or a list of strings.
 */
export class TokenVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly settings: AuthSettings) {
    if (settings.kind === 'jwks') {
      this.key = createRemoteJWKSet(new URL(settings.jwksUrl));
      this.algorithms = JWKS_ALGORITHMS;
    } else {
      this.key = new TextEncoder().encode(settings.secret);
      this.algorithms = ['HS256'];
    }
  }

  async verify(token: string): Promise<Caller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as JWTVerifyGetKey, {
        algorithms: this.algorithms,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: 30,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      // The identity provider's keys could not be fetched: not the caller's fault, and not a 401.
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
        throw new ServiceUnavailableException('the identity provider\'s keys could not be fetched; try again later', { cause: error });
      }
      throw new InvalidToken(describe(error));
    }
    return callerOf(payload);
  }
}

/** The caller a verified token names; a token whose claims do not say who it is, is refused. */
export function callerOf(payload: JWTPayload): Caller {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new InvalidToken('the token has no subject (sub)');
  const roles = payload['roles'] ?? [];
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) throw new InvalidToken('the token\'s roles claim must be a list of strings');
  return { userId: payload.sub, roles };
}

function describe(error: errors.JOSEError): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token\'s signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm not accepted here';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the identity provider matches the token';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'the token is not a well-formed JWT';
  return `the token was refused (${(error as errors.JOSEError).code})`;
}
