import type { Env, EnvReader } from '../config/env';

/**
 * The signing secret every service uses when no AUTH_* variable is set (`npm start`, the demo,
 * tests that start services without one): public by nature, so a token signed with it proves
 * nothing outside a development machine.
 */
export const DEVELOPMENT_JWT_SECRET = 'platform-development-secret-not-for-production-use';
export const DEVELOPMENT_ISSUER = 'platform-development';
export const DEVELOPMENT_AUDIENCE = 'platform';

/** The role that may write templates, rebuild projections and read every user's records. */
export const OPERATOR_ROLE = 'operator';

/** HS256 needs a key at least as long as its hash (RFC 7518 §3.2): 256 bits. */
const MIN_SECRET_LENGTH = 32;

export type AuthSettings =
  | { readonly kind: 'secret'; readonly secret: string; readonly issuer?: string; readonly audience?: string; readonly development: boolean }
  | { readonly kind: 'jwks'; readonly jwksUrl: string; readonly issuer?: string; readonly audience?: string };

/**
 * AUTH_JWKS_URL (an identity provider's keys) or AUTH_JWT_SECRET (HS256), not both; AUTH_ISSUER
 * and AUTH_AUDIENCE, when set, must match the token's `iss` and `aud`. With none of them set, the
 * development secret, issuer and audience; except under NODE_ENV=production (the images set it),
 * where a process that would trust the public development secret refuses to start.
 */
export function readAuthSettings(read: EnvReader, env: Env): AuthSettings {
  const jwksUrl = env['AUTH_JWKS_URL'];
  const secret = env['AUTH_JWT_SECRET'];
  const issuer = read.optional('AUTH_ISSUER', { test: /^\S+$/, description: 'an issuer without spaces' }) || undefined;
  const audience = read.optional('AUTH_AUDIENCE', { test: /^\S+$/, description: 'an audience without spaces' }) || undefined;
  if (jwksUrl && secret) {
    read.refuse('AUTH_JWKS_URL and AUTH_JWT_SECRET are both set: choose one way to verify tokens');
  }
  if (jwksUrl) return { kind: 'jwks', jwksUrl: read.url('AUTH_JWKS_URL', undefined, ['https:', 'http:']), issuer, audience };
  if (secret) {
    if (secret.length < MIN_SECRET_LENGTH) read.refuse(`AUTH_JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters (got ${secret.length})`);
    if (secret === DEVELOPMENT_JWT_SECRET && env['NODE_ENV'] === 'production') {
      read.refuse('AUTH_JWT_SECRET is the development secret, which is public, refused with NODE_ENV=production: give the services a secret of their own');
    }
    return { kind: 'secret', secret, issuer, audience, development: false };
  }
  if (env['NODE_ENV'] === 'production') {
    read.refuse('AUTH_JWT_SECRET or AUTH_JWKS_URL is required with NODE_ENV=production: without them the development secret, which is public, would sign and verify tokens');
  }
  return { kind: 'secret', secret: DEVELOPMENT_JWT_SECRET, issuer: issuer ?? DEVELOPMENT_ISSUER, audience: audience ?? DEVELOPMENT_AUDIENCE, development: true };
}
