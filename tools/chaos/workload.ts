/**
 * The chaos run's workload: a few concurrent HTTP clients writing to every service (users,
 * APIs and their endpoints, templates), each request with a correlation id of its own and the
 * bearer token of whom it acts for: a user registers themselves and changes only their own
 * records and APIs; templates are written by an operator. Every
 * write is recorded with its outcome; a 2xx write promises its event(s), which the
 * reconciliation looks for in Kafka by correlation id. A request that timed out or lost its
 * connection has an unknown outcome (the server may have committed): it promises nothing.
 */
import { ApiCreated, ApiUpdated, EndpointRemoved, EndpointUpdated, TemplateUpdated, UserCreated, UserDeactivated, UserRenamed, type EventClass } from '@platform/contracts';
import { sleep, type TestTokens } from '@platform/testing';
import { randomUUID } from 'node:crypto';
import type { Rng } from './rng';

export type Outcome = '2xx' | '4xx' | '5xx' | 'refused' | 'timeout' | 'connection-lost';

export type ActionName =
  | 'create-user'
  | 'rename-user'
  | 'deactivate-user'
  | 'create-api'
  | 'change-api'
  | 'add-endpoint'
  | 'update-endpoint'
  | 'remove-endpoint'
  | 'create-template'
  | 'update-template';

/** An event a 2xx write promised: on this contract topic, with this key, carrying the write's correlation id. */
export interface ExpectedEvent {
  readonly topic: string;
  readonly key: string;
}

export interface WriteRecord {
  readonly action: ActionName;
  readonly instance: string;
  readonly correlationId: string;
  readonly at: number;
  readonly status?: number;
  readonly outcome: Outcome;
  readonly expected: readonly ExpectedEvent[];
  readonly error?: string;
}

/** Where a request goes: a serving instance of the service. */
export interface Router {
  route(service: string): { readonly name: string; readonly url: string };
}

export interface WorkloadOptions {
  readonly clients: number;
  /** Mean pause between two requests of one client. */
  readonly pauseMs: number;
  readonly requestTimeoutMs: number;
  readonly runTag: string;
}

interface UserRef {
  readonly id: string;
  active: boolean;
}
interface EndpointRef {
  readonly id: string;
}
interface ApiRef {
  readonly id: string;
  readonly ownerId: string;
  endpoints: EndpointRef[];
  nextPath: number;
}
interface TemplateRef {
  readonly id: string;
}

/** The highest version / revision a 2xx answer reported, per entity: the read models must reach it. */
export interface Watermarks {
  readonly apiVersions: Map<string, number>;
  readonly templateRevisions: Map<string, number>;
}

const topic = (event: EventClass) => event.contract.topic;

export class Workload {
  readonly writes: WriteRecord[] = [];
  readonly watermarks: Watermarks = { apiVersions: new Map(), templateRevisions: new Map() };
  private running = false;
  private clients: Promise<void>[] = [];
  private sequence = 0;
  /** The owner of each API created: changes to an API are made as its owner. */
  private readonly apiOwners = new Map<string, string>();

  constructor(
    private readonly router: Router,
    /** Mints the tokens the services were started to accept. */
    private readonly tokens: TestTokens,
    private readonly rng: Rng,
    private readonly options: WorkloadOptions,
  ) {}

  get counts(): { ok: number; other: number } {
    let ok = 0;
    for (const w of this.writes) if (w.outcome === '2xx') ok++;
    return { ok, other: this.writes.length - ok };
  }

  start(): void {
    this.running = true;
    this.clients = Array.from({ length: this.options.clients }, (_, i) => this.client(i, this.rng.fork(1000 + i)));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients);
  }

  private async client(index: number, rng: Rng): Promise<void> {
    const users: UserRef[] = [];
    const apis: ApiRef[] = [];
    const templates: TemplateRef[] = [];
    let n = 0;
    const unique = () => `${this.options.runTag}-${index}-${++n}`;
    // Client 0 owns the welcome template: welcomes are rendered from it once notifications learned it.
    let welcomeTemplate = index === 0;

    while (this.running) {
      const active = users.filter((u) => u.active);
      const withEndpoints = apis.filter((a) => a.endpoints.length > 0);
      const action: ActionName = welcomeTemplate
        ? 'create-template'
        : (rng.weighted<ActionName>([
            ['create-user', active.length < 3 ? 10 : 3],
            ['rename-user', active.length > 0 ? 1 : 0],
            ['deactivate-user', active.length > 5 ? 0.2 : 0],
            ['create-api', active.length > 0 ? (apis.length < 3 ? 4 : 1.2) : 0],
            ['change-api', apis.length > 0 ? 0.5 : 0],
            ['add-endpoint', apis.length > 0 ? 4 : 0],
            ['update-endpoint', withEndpoints.length > 0 ? 2 : 0],
            ['remove-endpoint', withEndpoints.length > 0 ? 0.5 : 0],
            ['create-template', templates.length < 8 ? 0.3 : 0],
            ['update-template', templates.length > 0 ? 1 : 0],
          ]) ?? 'create-user');

      switch (action) {
        case 'create-user': {
          const name = unique();
          // A user registers themselves: the new user's id is their token's subject.
          const r = await this.write(action, 'users', 'POST', '/users', { email: `${name}@example.com`, displayName: `User ${name}` }, this.tokens.asUser(randomUUID()), (b: { id: string }) => [
            { topic: topic(UserCreated), key: b.id },
          ]);
          if (r.ok) users.push({ id: (r.body as { id: string }).id, active: true });
          break;
        }
        case 'rename-user': {
          const user = rng.pick(active);
          const r = await this.write(action, 'users', 'POST', `/users/${user.id}/rename`, { displayName: `Renamed ${unique()}` }, this.tokens.asUser(user.id), () => [{ topic: topic(UserRenamed), key: user.id }]);
          if (r.status === 422) user.active = false;
          break;
        }
        case 'deactivate-user': {
          const user = rng.pick(active);
          user.active = false; // whatever the answer: a timed-out deactivation may have happened
          await this.write(action, 'users', 'POST', `/users/${user.id}/deactivate`, { reason: 'inactive', note: 'chaos' }, this.tokens.asUser(user.id), () => [{ topic: topic(UserDeactivated), key: user.id }]);
          break;
        }
        case 'create-api': {
          const owner = rng.pick(active);
          // The owner is the token's subject.
          const r = await this.write(action, 'endpoints', 'POST', '/apis', { name: `API ${unique()}`, basePath: `/api-${unique()}` }, this.tokens.asUser(owner.id), (b: { id: string }) => [
            { topic: topic(ApiCreated), key: b.id },
          ]);
          if (r.ok) {
            const body = r.body as { id: string; version: number };
            apis.push({ id: body.id, ownerId: owner.id, endpoints: [], nextPath: 1 });
            this.apiOwners.set(body.id, owner.id);
            this.raise(this.watermarks.apiVersions, body.id, body.version);
          }
          break;
        }
        case 'change-api': {
          const api = rng.pick(apis);
          const r = await this.write(action, 'endpoints', 'PATCH', `/apis/${api.id}`, { name: `API ${unique()}` }, this.tokens.asUser(api.ownerId), () => [{ topic: topic(ApiUpdated), key: api.id }]);
          if (r.ok) this.raise(this.watermarks.apiVersions, api.id, (r.body as { version: number }).version);
          break;
        }
        case 'add-endpoint': {
          const api = rng.pick(apis);
          const body = { method: rng.pick(['GET', 'POST', 'PUT', 'DELETE'] as const), path: `/r/${api.nextPath++}/${unique()}`, upstreamUrl: `http://upstream.internal/${unique()}` };
          const r = await this.write(action, 'endpoints', 'POST', `/apis/${api.id}/endpoints`, body, this.tokens.asUser(api.ownerId), () => [{ topic: topic(EndpointUpdated), key: api.id }]);
          if (r.ok) {
            const view = r.body as { endpointId: string; version: number };
            api.endpoints.push({ id: view.endpointId });
            this.raise(this.watermarks.apiVersions, api.id, view.version);
          }
          break;
        }
        case 'update-endpoint': {
          const api = rng.pick(withEndpoints);
          const endpoint = rng.pick(api.endpoints);
          const r = await this.write(action, 'endpoints', 'PUT', `/apis/${api.id}/endpoints/${endpoint.id}`, { upstreamUrl: `http://upstream.internal/${unique()}` }, this.tokens.asUser(api.ownerId), () => [
            { topic: topic(EndpointUpdated), key: api.id },
          ]);
          if (r.ok) this.raise(this.watermarks.apiVersions, api.id, (r.body as { version: number }).version);
          break;
        }
        case 'remove-endpoint': {
          const api = rng.pick(withEndpoints);
          const endpoint = rng.pick(api.endpoints);
          // Forgotten whatever the answer: a timed-out removal may have happened.
          api.endpoints = api.endpoints.filter((e) => e !== endpoint);
          const r = await this.write(action, 'endpoints', 'DELETE', `/apis/${api.id}/endpoints/${endpoint.id}`, undefined, this.tokens.asUser(api.ownerId), () => [{ topic: topic(EndpointRemoved), key: api.id }]);
          if (r.ok) this.raise(this.watermarks.apiVersions, api.id, (r.body as { version: number }).version);
          break;
        }
        case 'create-template': {
          const name = welcomeTemplate ? 'welcome' : `t-${unique()}`;
          const r = await this.write(action, 'templates', 'POST', '/templates', { name, channel: 'in-app', subject: `Welcome {{displayName}} (${unique()})`, body: 'Hello {{displayName}} <{{email}}>' }, this.tokens.asOperator(), (b: { id: string }) => [
            { topic: topic(TemplateUpdated), key: b.id },
          ]);
          if (r.ok) {
            const body = r.body as { id: string; revision: number };
            templates.push({ id: body.id });
            this.raise(this.watermarks.templateRevisions, body.id, body.revision);
          }
          // 409: created by a request whose answer was lost; the welcome template is not essential.
          if (r.ok || r.status === 409) welcomeTemplate = false;
          break;
        }
        case 'update-template': {
          const template = rng.pick(templates);
          const r = await this.write(action, 'templates', 'PUT', `/templates/${template.id}`, { subject: `Welcome {{displayName}} (${unique()})` }, this.tokens.asOperator(), () => [
            { topic: topic(TemplateUpdated), key: template.id },
          ]);
          if (r.ok) this.raise(this.watermarks.templateRevisions, template.id, (r.body as { revision: number }).revision);
          break;
        }
      }
      await sleep(this.options.pauseMs * rng.between(0.5, 1.5));
    }
  }

  /**
   * New traffic after the run: one endpoint added to each of up to `limit` known APIs, spread
   * over the partitions of EndpointUpdated (recorded like every write).
   */
  async touchApis(limit: number): Promise<number> {
    let ok = 0;
    for (const apiId of [...this.watermarks.apiVersions.keys()].slice(0, limit)) {
      // Every API with a watermark was created by this workload, which knows its owner.
      const owner = this.apiOwners.get(apiId);
      if (owner === undefined) continue;
      const as = this.tokens.asUser(owner);
      const r = await this.write('add-endpoint', 'endpoints', 'POST', `/apis/${apiId}/endpoints`, { method: 'GET', path: `/touch/${++this.sequence}`, upstreamUrl: 'http://upstream.internal/touch' }, as, () => [
        { topic: topic(EndpointUpdated), key: apiId },
      ]);
      if (r.ok) {
        ok++;
        this.raise(this.watermarks.apiVersions, apiId, (r.body as { version: number }).version);
      }
    }
    return ok;
  }

  private raise(map: Map<string, number>, id: string, value: number): void {
    if (typeof value === 'number' && value > (map.get(id) ?? 0)) map.set(id, value);
  }

  private async write<B>(
    action: ActionName,
    service: string,
    method: string,
    path: string,
    body: unknown,
    /** The Authorization header of whom the request acts for. */
    as: Record<string, string>,
    expected: (body: B) => ExpectedEvent[],
  ): Promise<{ ok: boolean; status?: number; body?: unknown }> {
    const instance = this.router.route(service);
    const correlationId = `chaos-${this.options.runTag}-${++this.sequence}`;
    const at = Date.now();
    try {
      const response = await fetch(`${instance.url}${path}`, {
        method,
        headers: { 'x-correlation-id': correlationId, ...as, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON
      }
      const ok = response.status >= 200 && response.status < 300;
      const outcome: Outcome = ok ? '2xx' : response.status < 500 ? '4xx' : '5xx';
      this.writes.push({
        action,
        instance: instance.name,
        correlationId,
        at,
        status: response.status,
        outcome,
        expected: ok ? expected(parsed as B) : [],
        ...(ok ? {} : { error: text.slice(0, 300) }),
      });
      return { ok, status: response.status, body: parsed };
    } catch (error) {
      const outcome = classify(error);
      this.writes.push({ action, instance: instance.name, correlationId, at, outcome, expected: [], error: describe(error) });
      return { ok: false };
    }
  }
}

function classify(error: unknown): Outcome {
  const e = error as { name?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  if (e.cause?.code === 'ECONNREFUSED') return 'refused';
  return 'connection-lost';
}

function describe(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  return [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
}
