import type { Broker } from './broker';
import { KafkaJsBroker, type KafkaJsBrokerOptions } from './kafkajs-broker';
import { PlatformaticBroker } from './platformatic-broker';

/** The Kafka clients this library has an adapter for (KAFKA_CLIENT). */
export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClient = (typeof KAFKA_CLIENTS)[number];

/**
 * The client a service runs on unless KAFKA_CLIENT says otherwise: @platformatic/kafka, which
 * passed the integration, end-to-end and chaos suites, relays the outbox at about 1.9x kafkajs'
 * rate and halved the saga timeouts' firing lateness (README, "Kafka, the broker and the client").
 */
export const DEFAULT_KAFKA_CLIENT: KafkaClient = 'platformatic';

/** The Broker of the chosen client; both take the same options. */
export function createBroker(client: KafkaClient, options: KafkaJsBrokerOptions): Broker {
  return client === 'platformatic' ? new PlatformaticBroker(options) : new KafkaJsBroker(options);
}
