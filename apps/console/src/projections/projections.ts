import { BadGatewayException, Injectable, NotFoundException } from '@nestjs/common';
import { ServiceTokens } from '../auth/service-token';
import { ConsoleSettings } from '../settings';

export interface ServiceProjection {
  readonly service: string;
  readonly name: string;
  readonly status: string;
  readonly position: unknown;
  readonly failure?: unknown;
  readonly updatedAt?: string;
}

/** Projections as the services expose them (`GET /projections`, `POST /projections/<name>/rebuild`: operator routes). */
@Injectable()
export class ProjectionsClient {
  constructor(
    private readonly settings: ConsoleSettings,
    private readonly tokens: ServiceTokens,
  ) {}

  async list(): Promise<ServiceProjection[]> {
    const lists = await Promise.all(
      Object.entries(this.settings.config.serviceUrls).map(async ([service, url]) => {
        try {
          const response = await fetch(`${url}/projections`, { headers: await this.tokens.headers(), signal: AbortSignal.timeout(2_000) });
          // A service without projections has no such route.
          if (!response.ok) return [];
          return ((await response.json()) as Omit<ServiceProjection, 'service'>[]).map((p) => ({ ...p, service }));
        } catch {
          return [];
        }
      }),
    );
    return lists.flat();
  }

  /** Asks the service to rebuild one projection; resolves with the service's final progress report. */
  async rebuild(service: string, name: string): Promise<unknown> {
    const url = this.settings.config.serviceUrls[service];
    if (!url || !/^[a-z][a-z0-9-]*$/.test(name)) throw new NotFoundException(`no projection ${name} of ${service}`);
    const response = await fetch(`${url}/projections/${name}/rebuild`, { method: 'POST', headers: await this.tokens.headers() });
    if (response.status === 404) throw new NotFoundException(`${service} has no projection ${name}`);
    if (!response.ok) throw new BadGatewayException(`${service} answered ${response.status}: ${await response.text()}`);
    return response.json();
  }
}
