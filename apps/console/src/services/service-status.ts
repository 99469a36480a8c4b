import { Injectable } from '@nestjs/common';
import { ConsoleSettings } from '../settings';
import { parseExposition, total } from './exposition';

export interface ServiceStatus {
  readonly name: string;
  readonly url: string;
  /** /health/ready: 'up', 'degraded' (Kafka away, writes wait in the outbox), 'down', or 'unreachable'. */
  readonly health: string;
  readonly outbox?: { readonly rows: number; readonly oldestSeconds: number };
  readonly relay?: { readonly sent: number; readonly failures: number };
  readonly kafkaUp?: boolean;
  readonly error?: string;
}

const TIMEOUT_MS = 2_000;

async function get(url: string): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
}

/** Each service as its HTTP API tells it: readiness and what its /metrics says of its outbox. */
@Injectable()
export class ServiceStatusReader {
  constructor(private readonly settings: ConsoleSettings) {}

  read(): Promise<ServiceStatus[]> {
    return Promise.all(this.settings.topology.services.map((s) => this.readOne(s.name, this.settings.config.serviceUrls[s.name])));
  }

  private async readOne(name: string, url: string): Promise<ServiceStatus> {
    try {
      const [ready, metrics] = await Promise.all([get(`${url}/health/ready`), get(`${url}/metrics`)]);
      const health = ((await ready.json().catch(() => ({}))) as { status?: string }).status ?? `HTTP ${ready.status}`;
      const samples = parseExposition(await metrics.text());
      const rows = total(samples, 'messaging_outbox_rows');
      const sent = total(samples, 'messaging_relay_sent_total');
      const up = total(samples, 'messaging_kafka_up');
      return {
        name,
        url,
        health,
        ...(rows === undefined ? {} : { outbox: { rows, oldestSeconds: total(samples, 'messaging_outbox_oldest_row_age_seconds') ?? 0 } }),
        ...(sent === undefined ? {} : { relay: { sent, failures: total(samples, 'messaging_relay_failures_total') ?? 0 } }),
        ...(up === undefined ? {} : { kafkaUp: up === 1 }),
      };
    } catch (error) {
      return { name, url, health: 'unreachable', error: error instanceof Error ? error.message : String(error) };
    }
  }
}
