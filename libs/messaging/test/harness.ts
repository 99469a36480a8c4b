import { stderrLogger, type LogLevel, type Logger } from '@platform/core';
import { randomUUID } from 'node:crypto';
import type { EndpointUpdated, EventClass } from '@platform/contracts';
import { CE, createBroker, ensureTopics, KAFKA_CLIENTS, KafkaNaming, MESSAGING_MIGRATIONS, type Broker, type KafkaClient } from '../src';
import { applySqlMigrations, createTestDatabase, ensureKafka, TopicReader, uniqueName, type TestDatabase } from '@platform/testing';

export interface MessagingHarness {
  readonly db: TestDatabase;
  readonly brokers: string[];
  readonly broker: Broker;
  readonly naming: KafkaNaming;
  readonly logger: Logger;
  close(): Promise<void>;
}

/** The adapter the integration specs run against: TEST_KAFKA_CLIENT, kafkajs when unset. */
export function testKafkaClient(): KafkaClient {
  const client = process.env['TEST_KAFKA_CLIENT'] ?? 'kafkajs';
  if (!(KAFKA_CLIENTS as readonly string[]).includes(client)) throw new Error(`TEST_KAFKA_CLIENT must be one of ${KAFKA_CLIENTS.join(', ')} (got "${client}")`);
  return client as KafkaClient;
}

/** A fresh database with the messaging schema and a Kafka namespace of this spec's own. */
export async function messagingHarness(name: string, brokers?: string[]): Promise<MessagingHarness> {
  const resolvedBrokers = brokers ?? (await ensureKafka());
  const db = await createTestDatabase(name);
  await applySqlMigrations(db.pool, MESSAGING_MIGRATIONS);
  const logger = stderrLogger(name, (process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'error');
  const naming = new KafkaNaming(uniqueName(name).replace(/_/g, '-'));
  const broker = createBroker(testKafkaClient(), { brokers: resolvedBrokers, clientId: name, logger });
  return {
    db,
    brokers: resolvedBrokers,
    broker,
    naming,
    logger,
    async close() {
      const admin = await broker.admin().catch(() => undefined);
      if (admin) {
        const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${naming.namespace}.`));
        await admin.deleteTopics(mine).catch(() => undefined);
        await admin.disconnect();
      }
      await db.drop();
    },
  };
}

/** Creates the events' topics in the harness's namespace and starts a reader of them from their beginning. */
export async function readerOfTopics(h: MessagingHarness, events: readonly EventClass[]): Promise<TopicReader> {
  const admin = await h.broker.admin();
  try {
    await ensureTopics(admin, h.naming, events);
  } finally {
    await admin.disconnect();
  }
  return new TopicReader(h.brokers, events.map((event) => h.naming.topic(event))).start();
}

/** A Kafka message carrying a valid CloudEvent of `event`, as a producer of ours would write it. */
export function cloudEventMessage<T extends object>(event: EventClass<T>, payload: T, options: { id?: string; partition?: number; time?: Date } = {}) {
  return {
    key: event.contract.key(payload),
    value: JSON.stringify(payload),
    partition: options.partition,
    headers: {
      [CE.id]: options.id ?? randomUUID(),
      [CE.type]: event.contract.ceType,
      [CE.source]: '/services/test',
      [CE.time]: (options.time ?? new Date()).toISOString(),
      [CE.specversion]: '1.0',
      [CE.contentType]: 'application/json',
    },
  };
}

/** An EndpointUpdated of one API at `version`, for tests that only need valid events in order. */
export function endpointUpdated(apiId: string, version: number): EndpointUpdated {
  return {
    apiId,
    ownerId: '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10',
    endpointId: randomUUID(),
    method: 'GET',
    path: `/things/${version}`,
    upstreamUrl: 'http://things.internal/v1',
    change: 'added',
    version,
  };
}

