import { ServiceUnavailableException } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, DEVELOPMENT_JWT_SECRET, type AuthSettings } from './auth-settings';
import { InvalidToken, TokenVerifier } from './token-verifier';

const SECRET = 'a-shared-secret-of-at-least-32-characters!';
const secretSettings: AuthSettings = { kind: 'secret', secret: SECRET, issuer: 'https://idp.example', audience: 'platform', development: false };
const USER = '6f1c2a8e-1d3b-4c5e-9f7a-0b1c2d3e4f50';

function hs256(claims: JWTPayload, { secret = SECRET, issuer = 'https://idp.example', audience = 'platform', expiresIn = '5m' as string | number } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer(issuer).setAudience(audience).setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
}

async function refusal(verifier: TokenVerifier, token: string): Promise<string> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidToken);
  return (error as InvalidToken).message;
}

describe('TokenVerifier with a shared secret (HS256)', () => {
  const verifier = new TokenVerifier(secretSettings);

  it('gives the caller: sub is the user id, roles as listed (none when absent)', async () => {
    await expect(verifier.verify(await hs256({ sub: USER, roles: ['operator'] }))).resolves.toEqual({ userId: USER, roles: ['operator'] });
    await expect(verifier.verify(await hs256({ sub: USER }))).resolves.toEqual({ userId: USER, roles: [] });
  });

  it('refuses another secret, an expired token, another issuer or audience, and a token without exp', async () => {
    expect(await refusal(verifier, await hs256({ sub: USER }, { secret: 'another-secret-of-at-least-32-characters' }))).toMatch(/signature/);
    expect(await refusal(verifier, await hs256({ sub: USER }, { expiresIn: Math.floor(Date.now() / 1000) - 120 }))).toMatch(/expired/);
    expect(await refusal(verifier, await hs256({ sub: USER }, { issuer: 'https://evil.example' }))).toMatch(/iss/);
    expect(await refusal(verifier, await hs256({ sub: USER }, { audience: 'someone-else' }))).toMatch(/aud/);
    const noExp = await new SignJWT({ sub: USER }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://idp.example').setAudience('platform').sign(new TextEncoder().encode(SECRET));
    expect(await refusal(verifier, noExp)).toMatch(/exp/);
  });

  it('refuses tokens that do not say who the caller is, and what is no JWT', async () => {
    expect(await refusal(verifier, await hs256({}))).toMatch(/sub/);
    expect(await refusal(verifier, await hs256({ sub: USER, roles: 'operator' }))).toMatch(/roles/);
    expect(await refusal(verifier, await hs256({ sub: USER, roles: [1] }))).toMatch(/roles/);
    expect(await refusal(verifier, 'not.a.jwt')).toMatch(/well-formed/);
  });

  it('refuses an unsigned token (alg none) carrying valid claims', async () => {
    const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${encode({ alg: 'none' })}.${encode({ sub: USER, roles: ['operator'], iss: 'https://idp.example', aud: 'platform', exp: now + 60 })}.`;
    expect(await refusal(verifier, unsigned)).toMatch(/algorithm|well-formed|refused/);
  });

  it('in development verifies with the development secret, issuer and audience', async () => {
    const dev = new TokenVerifier({ kind: 'secret', secret: DEVELOPMENT_JWT_SECRET, issuer: DEVELOPMENT_ISSUER, audience: DEVELOPMENT_AUDIENCE, development: true });
    const token = await hs256({ sub: USER }, { secret: DEVELOPMENT_JWT_SECRET, issuer: DEVELOPMENT_ISSUER, audience: DEVELOPMENT_AUDIENCE });
    await expect(dev.verify(token)).resolves.toEqual({ userId: USER, roles: [] });
  });
});

describe('TokenVerifier with a JWKS URL (an identity provider serving its keys over HTTP)', () => {
  let server: Server;
  let url: string;
  let signingKey: CryptoKey;
  let requests = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      requests++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const es256 = (key: CryptoKey, kid = 'key-1') =>
    new SignJWT({ sub: USER, roles: ['operator'] }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer('https://idp.example').setAudience('platform').setExpirationTime('5m').sign(key);

  it("verifies a token signed with one of the provider's keys, fetching the keys once", async () => {
    const verifier = new TokenVerifier({ kind: 'jwks', jwksUrl: url, issuer: 'https://idp.example', audience: 'platform' });
    const before = requests;
    await expect(verifier.verify(await es256(signingKey))).resolves.toEqual({ userId: USER, roles: ['operator'] });
    await expect(verifier.verify(await es256(signingKey))).resolves.toEqual({ userId: USER, roles: ['operator'] });
    expect(requests - before).toBe(1);
  });

  it('refuses a key the provider does not list, and an HS256 token (a JWKS never means a shared secret)', async () => {
    const verifier = new TokenVerifier({ kind: 'jwks', jwksUrl: url });
    const stranger = (await generateKeyPair('ES256')).privateKey;
    expect(await refusal(verifier, await es256(stranger))).toMatch(/signature|key/);
    expect(await refusal(verifier, await hs256({ sub: USER }))).toMatch(/algorithm/);
  });

  it('answers 503, not 401, when the provider cannot be reached', async () => {
    const verifier = new TokenVerifier({ kind: 'jwks', jwksUrl: 'http://127.0.0.1:1/jwks.json' });
    await expect(verifier.verify(await es256(signingKey))).rejects.toBeInstanceOf(ServiceUnavailableException);
  });
});
