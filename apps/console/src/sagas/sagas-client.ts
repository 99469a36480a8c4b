import { BadGatewayException, BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { ServiceTokens } from '../auth/service-token';
import { ConsoleSettings } from '../settings';

/** A saga as its service lists it (`GET /sagas`), with its latest instances (`GET /sagas/<name>/instances`). */
export interface ServiceSaga {
  readonly service: string;
  readonly name: string;
  readonly groupId: string;
  readonly instances: readonly object[];
  /** Set when the service answered its saga list but not the instances. */
  readonly error?: string;
}

const STATES = ['waiting', 'active', 'completed', 'compensated', 'failed', 'abandoned'];
const NAME = /^[a-z][a-z0-9-]*$/;
/** Instances per saga on the page: the latest updated. */
const LISTED = 50;

/** Sagas and their instances as the services expose them over HTTP (service-kit's SagasController: operator routes). */
@Injectable()
export class SagasClient {
  constructor(
    private readonly settings: ConsoleSettings,
    private readonly tokens: ServiceTokens,
  ) {}

  async list(state?: string): Promise<ServiceSaga[]> {
    if (state !== undefined && state !== '' && !STATES.includes(state)) throw new BadRequestException(`state must be one of ${STATES.join(', ')}`);
    const query = `limit=${LISTED}${state ? `&state=${state}` : ''}`;
    const lists = await Promise.all(
      Object.entries(this.settings.config.serviceUrls).map(async ([service, url]) => {
        let sagas: { name: string; groupId: string }[];
        try {
          const response = await fetch(`${url}/sagas`, { headers: await this.tokens.headers(), signal: AbortSignal.timeout(2_000) });
          // A service that is down, or built before it had the route, shows no saga.
          if (!response.ok) return [];
          sagas = (await response.json()) as { name: string; groupId: string }[];
        } catch {
          return [];
        }
        return Promise.all(
          sagas.map(async (saga): Promise<ServiceSaga> => {
            try {
              const response = await fetch(`${url}/sagas/${saga.name}/instances?${query}`, { headers: await this.tokens.headers(), signal: AbortSignal.timeout(2_000) });
              if (!response.ok) return { service, ...saga, instances: [], error: `${service} answered ${response.status}` };
              return { service, ...saga, instances: (await response.json()) as object[] };
            } catch (error) {
              return { service, ...saga, instances: [], error: (error as Error).message };
            }
          }),
        );
      }),
    );
    return lists.flat();
  }

  /** One instance with its steps, history and pending timeouts. */
  async instance(service: string, name: string, key: string): Promise<unknown> {
    const url = this.settings.config.serviceUrls[service];
    if (!url || !NAME.test(name) || key.length === 0 || key.length > 200) throw new NotFoundException(`no saga instance ${key} of ${service}.${name}`);
    const response = await fetch(`${url}/sagas/${name}/instances/${encodeURIComponent(key)}`, { headers: await this.tokens.headers(), signal: AbortSignal.timeout(5_000) });
    if (response.status === 404) throw new NotFoundException(`${service} has no instance ${key} of saga ${name}`);
    if (!response.ok) throw new BadGatewayException(`${service} answered ${response.status}: ${await response.text()}`);
    return response.json();
  }
}
