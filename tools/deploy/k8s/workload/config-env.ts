import { kafkaBootstrap, kafkaUserName, SETTINGS } from '../../settings';
import type { ServiceModel } from '../../catalog/load-services';

/**
 * The service's non-secret environment, as a kustomize `configMapGenerator` env file: a change
 * renames the ConfigMap (content hash), which rolls the Deployment. DATABASE_URL and the Kafka
 * password come from Secrets (see deployment.ts). KAFKA_NAMESPACE stays unset: topics keep
 * their contract names in a cluster of their own.
 */
export function configEnv(service: ServiceModel): Record<string, string> {
  return {
    PORT: String(service.port),
    KAFKA_BROKERS: kafkaBootstrap(),
    KAFKA_SECURITY_PROTOCOL: SETTINGS.kafka.securityProtocol,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: kafkaUserName(service.name),
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    SHUTDOWN_TIMEOUT_MS: String(SETTINGS.shutdownTimeoutMs),
    DATABASE_POOL_SIZE: '10',
    CONSUMER_CONCURRENCY: '6',
    CONSUMER_TRANSACTIONS_PER_PARTITION: '3',
    KAFKA_SESSION_TIMEOUT_MS: '10000',
  };
}

/**
 * The console's non-secret environment (loadConsoleConfig in apps/console): Kafka as the services
 * reach it, under its own user, and each service by its in-cluster Service name (same namespace,
 * so an overlay's namespace applies). The console logs through Nest's logger: no LOG_* variables.
 */
export function consoleConfigEnv(console: { readonly name: string; readonly port: number }, services: readonly ServiceModel[]): Record<string, string> {
  return {
    PORT: String(console.port),
    KAFKA_BROKERS: kafkaBootstrap(),
    KAFKA_SECURITY_PROTOCOL: SETTINGS.kafka.securityProtocol,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: kafkaUserName(console.name),
    ...Object.fromEntries(services.map((s) => [`${s.name.toUpperCase()}_URL`, `http://${s.name}:${s.port}`])),
  };
}

export const configMapName = (service: string): string => `${service}-config`;
