/**
 * The few deployment choices that are not in the code: where the platform runs and which
 * operators it relies on. Everything else (topics, ACLs, ports, databases) is derived from
 * the contracts, the service catalog and the app declarations.
 */
export const SETTINGS = {
  /** Kubernetes namespace of the services, their databases, topics and Kafka users. */
  namespace: 'platform',
  kafka: {
    /** Name of the Strimzi `Kafka` resource; its entity operator watches `namespace` above. */
    cluster: 'platform',
    /** Namespace the Strimzi cluster runs in (its broker pods, for the network policies). */
    clusterNamespace: 'kafka',
    /** Strimzi names the bootstrap Service `<cluster>-kafka-bootstrap`; 9092 is the SCRAM listener. */
    port: 9092,
    /** That listener's: SCRAM without TLS, inside the cluster's network (NetworkPolicies restrict who reaches it). */
    securityProtocol: 'SASL_PLAINTEXT',
    /** Replicas of each topic in a production cluster; the dev overlay lowers it to 1. */
    topicReplicas: 3,
    /**
     * KAFKA_NAMESPACE of the deployed services: empty, so topics keep their contract names and
     * the KafkaTopic resources can be named after them.
     */
    topicNamespace: '',
  },
  postgres: {
    /** One major version for compose and CloudNativePG, so both paths run the same server. */
    major: 17,
  },
  /** Services stop within SHUTDOWN_TIMEOUT_MS after SIGTERM; the pod's grace period covers it. */
  shutdownTimeoutMs: 20_000,
  /**
   * Seconds the pod keeps serving after it was marked for deletion, before SIGTERM: time for
   * the endpoint controllers to take it out of the Service so no request hits a closing server.
   */
  preStopSleepSeconds: 5,
  /**
   * Kubernetes probes (seconds). /health/live fails only when a use case stopped for good and
   * answers without I/O; /health/ready fails only when the database does not answer or
   * migrations are pending (Kafka being away is 'degraded', still 200: the outbox absorbs writes).
   */
  probes: {
    /** Migrations run before the server listens: up to two minutes before liveness counts. */
    startup: { periodSeconds: 2, failureThreshold: 60, timeoutSeconds: 2 },
    /**
     * A crashed use case restarts the pod 30-40 s after it crashed (the first failing probe
     * within 10 s, then three more). A stalled event loop (a long GC pause) must outlast
     * four probes, each allowed 5 s, before the pod restarts: one or two lost probes never do.
     */
    liveness: { periodSeconds: 10, failureThreshold: 4, timeoutSeconds: 5 },
    /** The database check inside /health/ready gives up after 2 s; the probe waits a little longer. */
    readiness: { periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 3 },
  },
} as const;

export const kafkaBootstrap = (): string => `${SETTINGS.kafka.cluster}-kafka-bootstrap.${SETTINGS.kafka.clusterNamespace}:${SETTINGS.kafka.port}`;

/** Image name the bases reference; CI and compose build it, overlays may rewrite it. */
export const imageName = (service: string): string => `platform-${service}`;

/**
 * The service's database and its two roles, the same names `npm start` provisions locally: the
 * runtime role (DATABASE_URL: rows only, owns nothing) and the migration role (MIGRATION_DATABASE_URL:
 * owns the database and the schema, runs the DDL).
 */
export const databaseName = (service: string): string => `platform_${service}`;
export const databaseRole = (service: string): string => `${service}_svc`;
export const migrationRole = (service: string): string => `${service}_migrator`;
/** The Secret (kubernetes.io/basic-auth) the operator creates with the runtime role's password; CNPG sets the role's password from it. */
export const runtimeRoleSecret = (service: string): string => `${databaseCluster(service)}-runtime`;

/** CloudNativePG cluster of the service; CNPG derives `<name>-app` (secret) and `<name>-rw` (service). */
export const databaseCluster = (service: string): string => `${service}-db`;
export const databaseAppSecret = (service: string): string => `${databaseCluster(service)}-app`;

/** The Strimzi KafkaUser of a service, named after it; its Secret has the same name. */
export const kafkaUserName = (service: string): string => service;

/** The Secret the console's operator token comes from, created by hand: `kubectl create secret generic console-token --from-literal=token=...`. */
export const consoleTokenSecret = { name: 'console-token', key: 'token' } as const;

/**
 * The Secret holding the HS256 key every service verifies bearer tokens with (AUTH_JWT_SECRET) and
 * the console signs its operator tokens with; created by hand, never generated (its value must not
 * be in the repository): `kubectl -n platform create secret generic platform-auth --from-literal=jwt-secret=$(openssl rand -hex 32)`.
 */
export const authSecret = { name: 'platform-auth', key: 'jwt-secret' } as const;
