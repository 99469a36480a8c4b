import { ConfigurationError, DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, DEVELOPMENT_JWT_SECRET } from '@platform/service-kit';
import { DECLARED_SERVICES } from '../topology/topology';
import { loadConsoleConfig } from './console-config';

describe('loadConsoleConfig', () => {
  const token = 'x'.repeat(32);

  it('defaults the service URLs to the catalog ports and lets <SERVICE>_URL move one', () => {
    const config = loadConsoleConfig(DECLARED_SERVICES, { CONSOLE_TOKEN: token, USERS_URL: 'http://users:3001/' });
    expect(config.port).toBe(3000);
    // Every declared service (a generated one too), at its catalog port unless its variable moves it.
    const atCatalogPorts = Object.fromEntries(DECLARED_SERVICES.map((s) => [s.name, `http://127.0.0.1:${s.port}`]));
    expect(config.serviceUrls).toEqual({ ...atCatalogPorts, users: 'http://users:3001' });
    expect(atCatalogPorts).toMatchObject({ endpoints: 'http://127.0.0.1:3002', templates: 'http://127.0.0.1:3003', notifications: 'http://127.0.0.1:3004' });
    expect(config.operatorToken).toBe(token);
  });

  it('refuses to start without a token, or with a short one', () => {
    expect(() => loadConsoleConfig(DECLARED_SERVICES, {})).toThrow(ConfigurationError);
    expect(() => loadConsoleConfig(DECLARED_SERVICES, { CONSOLE_TOKEN: 'short' })).toThrow(/CONSOLE_TOKEN must be at least 16 characters/);
  });

  it("signs for the services with their AUTH_JWT_SECRET, AUTH_ISSUER and AUTH_AUDIENCE, or their development defaults", () => {
    const secret = 's'.repeat(32);
    expect(loadConsoleConfig(DECLARED_SERVICES, { CONSOLE_TOKEN: token, AUTH_JWT_SECRET: secret, AUTH_ISSUER: 'https://idp', AUTH_AUDIENCE: 'platform' }).serviceAuth).toEqual({
      secret,
      issuer: 'https://idp',
      audience: 'platform',
    });
    expect(loadConsoleConfig(DECLARED_SERVICES, { CONSOLE_TOKEN: token }).serviceAuth).toEqual({ secret: DEVELOPMENT_JWT_SECRET, issuer: DEVELOPMENT_ISSUER, audience: DEVELOPMENT_AUDIENCE });
  });

  it('refuses a JWKS URL (it cannot sign with one) and, under NODE_ENV=production, the public development secret', () => {
    expect(() => loadConsoleConfig(DECLARED_SERVICES, { CONSOLE_TOKEN: token, AUTH_JWKS_URL: 'https://idp/jwks' })).toThrow(/console signs its own operator tokens and needs AUTH_JWT_SECRET/);
    expect(() => loadConsoleConfig(DECLARED_SERVICES, { CONSOLE_TOKEN: token, NODE_ENV: 'production' })).toThrow(/AUTH_JWT_SECRET or AUTH_JWKS_URL is required with NODE_ENV=production/);
    expect(loadConsoleConfig(DECLARED_SERVICES, { CONSOLE_TOKEN: token, NODE_ENV: 'production', AUTH_JWT_SECRET: 's'.repeat(32) }).serviceAuth.secret).toBe('s'.repeat(32));
  });
});
