import { DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, DEVELOPMENT_JWT_SECRET, InvalidToken, OPERATOR_ROLE, TokenVerifier } from '@platform/service-kit';
import { decodeJwt } from 'jose';
import type { ServiceAuth } from '../config/console-config';
import { ConsoleSettings } from '../settings';
import { CONSOLE_SUBJECT, ServiceTokens } from './service-token';

const SECRET = 'the-secret-the-services-verify-with-0123456789';

function tokensFor(serviceAuth: ServiceAuth): ServiceTokens {
  return new ServiceTokens(new ConsoleSettings({ serviceAuth } as ConsoleSettings['config'], { services: [] } as unknown as ConsoleSettings['topology']));
}

const tokenOf = async (tokens: ServiceTokens) => (await tokens.headers())['authorization'].replace(/^Bearer /, '');

/** The console's tokens checked by the services' own verifier (service-kit's, with jose). */
describe('ServiceTokens', () => {
  afterEach(() => jest.useRealTimers());

  it('signs operator tokens the services accept: their secret, issuer and audience; the console as subject', async () => {
    const token = await tokenOf(tokensFor({ secret: SECRET, issuer: 'https://idp', audience: 'platform' }));
    const caller = await new TokenVerifier({ kind: 'secret', secret: SECRET, issuer: 'https://idp', audience: 'platform', development: false }).verify(token);
    expect(caller).toEqual({ userId: CONSOLE_SUBJECT, roles: [OPERATOR_ROLE] });
  });

  it('with no AUTH_* setting, signs with the development secret the services fall back to', async () => {
    const token = await tokenOf(tokensFor({ secret: DEVELOPMENT_JWT_SECRET, issuer: DEVELOPMENT_ISSUER, audience: DEVELOPMENT_AUDIENCE }));
    await expect(new TokenVerifier({ kind: 'secret', secret: DEVELOPMENT_JWT_SECRET, issuer: DEVELOPMENT_ISSUER, audience: DEVELOPMENT_AUDIENCE, development: true }).verify(token)).resolves.toMatchObject({
      roles: [OPERATOR_ROLE],
    });
  });

  it('is refused by services with another secret', async () => {
    const token = await tokenOf(tokensFor({ secret: SECRET }));
    await expect(new TokenVerifier({ kind: 'secret', secret: 'another-secret-of-at-least-32-characters', development: false }).verify(token)).rejects.toThrow(InvalidToken);
  });

  it('lives five minutes, is reused while more than a minute is left, then renewed', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') });
    const tokens = tokensFor({ secret: SECRET });
    const first = await tokenOf(tokens);
    const claims = decodeJwt(first);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);
    jest.setSystemTime(new Date('2026-12-01T10:03:59Z'));
    expect(await tokenOf(tokens)).toBe(first);
    jest.setSystemTime(new Date('2026-12-01T10:04:01Z'));
    const renewed = await tokenOf(tokens);
    expect(renewed).not.toBe(first);
    expect(decodeJwt(renewed).exp).toBe(Math.floor(Date.parse('2026-12-01T10:09:01Z') / 1000));
  });
});
