import { randomUUID } from 'node:crypto';
import { EndpointUpdated } from '@platform/contracts';
import { EVENT_STORE_METRICS, EVENT_STORE_MIGRATIONS, PostgresEventStore } from '@platform/event-store';
import { MESSAGING_MIGRATIONS, OutboxPublisher, type PendingEvent } from '@platform/messaging';
import { applySqlMigrations, createTestDatabase, type TestDatabase } from '@platform/testing';
import type { Logger, Metrics } from '@platform/core';

/** The sources sending data: 200 APIs, each message one of them reporting an endpoint change. */
export const SOURCES = 200;
const SOURCE_IDS = Array.from({ length: SOURCES }, () => ({ apiId: randomUUID(), ownerId: randomUUID() }));
export const sourceId = (index: number): string => SOURCE_IDS[index % SOURCES].apiId;

/** About this many bytes of JSON per message: the seed's "stream of messages", a few hundred bytes each. */
export const MESSAGE_BYTES = 320;

/** The i-th incoming message: an EndpointUpdated of source i mod 200, padded to MESSAGE_BYTES. */
export function message(i: number): EndpointUpdated {
  const source = SOURCE_IDS[i % SOURCES];
  const base: EndpointUpdated = {
    apiId: source.apiId,
    ownerId: source.ownerId,
    endpointId: randomUUID(),
    method: 'PUT',
    path: '/',
    upstreamUrl: 'http://sensors.internal/v1',
    change: 'updated',
    version: Math.floor(i / SOURCES) + 1,
  };
  const padding = MESSAGE_BYTES - JSON.stringify(base).length;
  return { ...base, path: `/r/${'p'.repeat(Math.max(0, padding - 3))}` };
}

/** Publishing as the services do: an outbox row in the transaction that stores the message. */
export const publisher = new OutboxPublisher('bench-ingest', [EndpointUpdated]);
export const outboxed = (payload: EndpointUpdated): PendingEvent[] => [{ event: EndpointUpdated, payload }];

/** The event type the store's events carry, from the contract. */
export const MESSAGE_TYPE = EndpointUpdated.contract.ceType;

/** A throwaway database with the outbox and the event store, as the endpoints service has. */
export async function ingestDatabase(name: string): Promise<TestDatabase> {
  const db = await createTestDatabase(`bench_ingest_${name}`, { poolSize: 10 });
  await applySqlMigrations(db.pool, [...MESSAGING_MIGRATIONS, ...EVENT_STORE_MIGRATIONS]);
  return db;
}

/** Stream-length warnings the store logged (the default limit, 10,000), for the progress output. */
export interface LengthWarnings {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly warnings: string[];
  crossings(): number;
}

export function lengthWarnings(): LengthWarnings {
  const warnings: string[] = [];
  let crossings = 0;
  const ignore = () => undefined;
  return {
    warnings,
    crossings: () => crossings,
    logger: { debug: ignore, info: ignore, error: ignore, warn: (message, fields) => void warnings.push(`${message} ${JSON.stringify(fields)}`) },
    metrics: {
      counter: (family) => ({ inc: (by = 1) => void (family.name === EVENT_STORE_METRICS.streamLengthCrossings.name && (crossings += by)) }),
      histogram: () => ({ observe: ignore }),
      collect: () => ignore,
    },
  };
}

export function storeOn(db: TestDatabase, watch?: LengthWarnings): PostgresEventStore {
  return new PostgresEventStore(db.pool, watch ? { logger: watch.logger, metrics: watch.metrics } : {});
}
