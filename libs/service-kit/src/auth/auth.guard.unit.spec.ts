import { Controller, Get, Module, Param, Post, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SignJWT } from 'jose';
import { Writable } from 'node:stream';
import { createServiceApp } from '../http/bootstrap';
import { configureProcessLogger } from '../logging/process-logger';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { SERVICE_CONFIG } from '../tokens';
import { OPERATOR_ROLE } from './auth-settings';
import { CurrentCaller, Public, RequireRoles } from './auth.decorators';
import { AuthGuard } from './auth.guard';
import { assertMayChange, assertMayRead, type Caller } from './caller';

const SECRET = 'guard-test-secret-of-at-least-32-characters';
const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';

@Controller()
class RecordsController {
  @Public()
  @Get('open')
  open(): { open: true } {
    return { open: true };
  }

  @Get('me')
  me(@CurrentCaller() caller: Caller): Caller {
    return caller;
  }

  @Get('users/:id/records')
  records(@Param('id') id: string, @CurrentCaller() caller: Caller): { owner: string } {
    assertMayRead(caller, id, `the records of ${id}`);
    return { owner: id };
  }

  @Post('users/:id/records')
  change(@Param('id') id: string, @CurrentCaller() caller: Caller): { owner: string } {
    assertMayChange(caller, id, `the records of ${id}`);
    return { owner: id };
  }

  @RequireRoles(OPERATOR_ROLE)
  @Post('rebuild')
  rebuild(): { rebuilt: true } {
    return { rebuilt: true };
  }
}

@Module({
  controllers: [RecordsController],
  providers: [
    { provide: SERVICE_CONFIG, useValue: { auth: { kind: 'secret', secret: SECRET, issuer: 'test-idp', audience: 'platform', development: false } } },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: PrometheusMetrics, useFactory: () => new PrometheusMetrics() },
  ],
})
class GuardTestModule {}

const sign = (sub: string, roles: string[] = [], { secret = SECRET, exp = '5m' as string | number } = {}) =>
  new SignJWT({ sub, roles }).setProtectedHeader({ alg: 'HS256' }).setIssuer('test-idp').setAudience('platform').setIssuedAt().setExpirationTime(exp).sign(new TextEncoder().encode(secret));

/** The kit's guard and error bodies in a real Nest application over HTTP, as every service has them. */
describe('AuthGuard (global) with @Public(), @RequireRoles() and the ownership checks', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const root = configureProcessLogger({ service: 'guard-test', level: 'error', format: 'json', destination: new Writable({ write: (_c, _e, done) => done() }) });
    app = await createServiceApp(GuardTestModule, { title: 'guard', description: 'guard under test' }, root);
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
  });

  async function call(method: string, path: string, token?: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${url}${path}`, { method, headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  }

  it('lets @Public() routes answer without a token', async () => {
    expect((await call('GET', '/open')).status).toBe(200);
  });

  it('401 without a token: WWW-Authenticate: Bearer, the error body with the correlation id', async () => {
    const response = await call('GET', '/me', undefined, { 'x-correlation-id': 'corr-401' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="platform"');
    expect(response.headers.get('x-correlation-id')).toBe('corr-401');
    expect(response.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(/bearer token is required/), correlationId: 'corr-401' });
  });

  it('401 with invalid_token for a bad signature, an expiry in the past, or a malformed header value', async () => {
    for (const token of [await sign(ALICE, [], { secret: 'another-secret-of-at-least-32-characters' }), await sign(ALICE, [], { exp: Math.floor(Date.now() / 1000) - 120 }), 'garbage']) {
      const response = await call('GET', '/me', token);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="platform", error="invalid_token"/);
      expect(response.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', correlationId: expect.any(String) });
    }
  });

  it('gives the handler the caller from the token', async () => {
    const response = await call('GET', '/me', await sign(ALICE, ['operator']));
    expect(response.body).toEqual({ userId: ALICE, roles: ['operator'] });
  });

  it('a user reads and changes only their own records; an operator reads across users but does not change them', async () => {
    const alice = await sign(ALICE);
    const operator = await sign(BOB, [OPERATOR_ROLE]);
    expect((await call('GET', `/users/${ALICE}/records`, alice)).status).toBe(200);
    expect((await call('POST', `/users/${ALICE}/records`, alice)).status).toBe(201);
    const denied = await call('GET', `/users/${BOB}/records`, alice, { 'x-correlation-id': 'corr-403' });
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ statusCode: 403, error: 'Forbidden', message: `the records of ${BOB} belongs to another user`, correlationId: 'corr-403' });
    expect((await call('POST', `/users/${BOB}/records`, alice)).status).toBe(403);
    expect((await call('GET', `/users/${ALICE}/records`, operator)).status).toBe(200);
    expect((await call('POST', `/users/${ALICE}/records`, operator)).status).toBe(403);
  });

  it('403 on an operator route without the role, 2xx with it', async () => {
    const denied = await call('POST', '/rebuild', await sign(ALICE));
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/needs the role operator/);
    expect((await call('POST', '/rebuild', await sign(ALICE, [OPERATOR_ROLE]))).status).toBe(201);
  });

  it('OpenAPI declares the bearer scheme on the protected operations and none on the public ones', async () => {
    const document = (await call('GET', '/docs-json')).body as { components: { securitySchemes: Record<string, unknown> }; paths: Record<string, Record<string, { security?: unknown }>> };
    expect(document.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(document.paths['/open']?.['get']?.security).toEqual([]);
    expect(document.paths['/me']?.['get']?.security).toEqual([{ bearer: [] }]);
    expect(document.paths['/rebuild']?.['post']?.security).toEqual([{ bearer: [] }]);
    expect(JSON.stringify(document)).not.toContain('x-platform-public');
  });
});
