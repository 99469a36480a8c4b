import { ConfigurationError, EnvReader, type Env } from '../config/env';
import { DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, DEVELOPMENT_JWT_SECRET, readAuthSettings } from './auth-settings';

function read(env: Env) {
  const reader = new EnvReader(env);
  const settings = readAuthSettings(reader, env);
  reader.done();
  return settings;
}

describe('readAuthSettings', () => {
  it('without AUTH_* variables: the development secret, issuer and audience', () => {
    expect(read({})).toEqual({ kind: 'secret', secret: DEVELOPMENT_JWT_SECRET, issuer: DEVELOPMENT_ISSUER, audience: DEVELOPMENT_AUDIENCE, development: true });
  });

  it('a shared secret, with the issuer and audience to check', () => {
    const secret = 'x'.repeat(32);
    expect(read({ AUTH_JWT_SECRET: secret, AUTH_ISSUER: 'https://idp', AUTH_AUDIENCE: 'platform' })).toEqual({ kind: 'secret', secret, issuer: 'https://idp', audience: 'platform', development: false });
    expect(read({ AUTH_JWT_SECRET: secret })).toEqual({ kind: 'secret', secret, issuer: undefined, audience: undefined, development: false });
  });

  it('a JWKS URL', () => {
    expect(read({ AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json', AUTH_AUDIENCE: 'platform' })).toEqual({
      kind: 'jwks',
      jwksUrl: 'https://idp.example/.well-known/jwks.json',
      issuer: undefined,
      audience: 'platform',
    });
  });

  it('refuses both at once, a short secret and a JWKS URL that is no http(s) URL, naming the variable', () => {
    expect(() => read({ AUTH_JWKS_URL: 'https://idp/jwks', AUTH_JWT_SECRET: 'x'.repeat(32) })).toThrow(/AUTH_JWKS_URL and AUTH_JWT_SECRET are both set/);
    expect(() => read({ AUTH_JWT_SECRET: 'short' })).toThrow(/AUTH_JWT_SECRET must be at least 32 characters/);
    expect(() => read({ AUTH_JWKS_URL: 'ftp://idp/jwks' })).toThrow(ConfigurationError);
  });

  it('refuses the development secret under NODE_ENV=production, naming the variables; a configured secret or JWKS URL is fine there', () => {
    expect(() => read({ NODE_ENV: 'production' })).toThrow(/AUTH_JWT_SECRET or AUTH_JWKS_URL is required with NODE_ENV=production/);
    expect(() => read({ NODE_ENV: 'production', AUTH_ISSUER: 'https://idp' })).toThrow(ConfigurationError);
    expect(read({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32) })).toMatchObject({ kind: 'secret', development: false });
    expect(read({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://idp/jwks' })).toMatchObject({ kind: 'jwks' });
    expect(() => read({ NODE_ENV: 'production', AUTH_JWT_SECRET: DEVELOPMENT_JWT_SECRET })).toThrow(/AUTH_JWT_SECRET is the development secret, which is public, refused with NODE_ENV=production/);
    expect(read({ AUTH_JWT_SECRET: DEVELOPMENT_JWT_SECRET })).toMatchObject({ kind: 'secret' });
    expect(read({ NODE_ENV: 'test' })).toMatchObject({ development: true });
  });
});
