import type { Broker } from './broker';
import { KafkaJsBroker, type KafkaJsBrokerOptions } from './kafkajs-broker';
import { PlatformaticBroker } from './platformatic-broker';

/** The Kafka clients this library has an adapter for (KAFKA_CLIENT). */
export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClient = (typeof KAFKA_CLIENTS)[number];

/** The Broker of the chosen client; both take the same options. */
export function createBroker(client: KafkaClient, options: KafkaJsBrokerOptions): Broker {
  return client === 'platformatic' ? new PlatformaticBroker(options) : new KafkaJsBroker(options);
}
