import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { ServiceModel } from '../../catalog/load-services';
import { authSecret, consoleTokenSecret, databaseAppSecret, databaseCluster, databaseName, databaseRole, imageName, kafkaUserName, runtimeRoleSecret, SETTINGS } from '../../settings';
import { selectorLabels, serviceLabels } from '../labels';
import { configMapName } from './config-env';

/** The `node` user of the official node images; numeric, so the kubelet can verify runAsNonRoot. */
const NODE_UID = 1000;

/**
 * SIGTERM arrives after the preStop sleep; the service then has SHUTDOWN_TIMEOUT_MS to finish
 * in-flight events and requests. Five more seconds for committing and closing pools before
 * the kubelet sends SIGKILL.
 */
export const terminationGracePeriodSeconds = (): number => SETTINGS.preStopSleepSeconds + Math.ceil(SETTINGS.shutdownTimeoutMs / 1000) + 5;

const secret = (variable: string, name: string, key: string): IEnvVar => ({ name: variable, valueFrom: { secretKeyRef: { name, key } } });

/**
 * The key bearer tokens are verified (services) and signed (console) with. The images run with
 * NODE_ENV=production, where a process without it refuses to start rather than trust the public
 * development secret.
 */
const authJwtSecret = (): IEnvVar => secret('AUTH_JWT_SECRET', authSecret.name, authSecret.key);

/**
 * A service: the migration role's URL from its CloudNativePG secret (`<cluster>-app`, the
 * database owner's), the runtime role's URL put together from the runtime role's password (the
 * Secret `<cluster>-runtime` CNPG sets the role's password from; the kubelet expands $(VAR)
 * from variables defined before it, so the password must be URL-safe, e.g. hex), its Kafka
 * password from its KafkaUser's, the token key from the platform's.
 */
export function deployment(service: ServiceModel): IDeployment {
  const { name } = service;
  return workloadDeployment(service, [
    secret('MIGRATION_DATABASE_URL', databaseAppSecret(name), 'uri'),
    secret(RUNTIME_PASSWORD, runtimeRoleSecret(name), 'password'),
    { name: 'DATABASE_URL', value: `postgresql://${databaseRole(name)}:$(${RUNTIME_PASSWORD})@${databaseCluster(name)}-rw:5432/${databaseName(name)}` },
    secret('KAFKA_SASL_PASSWORD', kafkaUserName(name), 'password'),
    authJwtSecret(),
  ]);
}

/** Only there to be expanded into DATABASE_URL; the service does not read it. */
export const RUNTIME_PASSWORD = 'DATABASE_RUNTIME_PASSWORD';

/**
 * The console: no database; its Kafka password from its KafkaUser's secret, the operator token
 * and the key it signs its calls to the services with from Secrets the operator creates (never
 * generated: their values must not be in the repository).
 * One replica, stated, since no autoscaler owns the count.
 */
export function consoleDeployment(console: { readonly name: string; readonly port: number }): IDeployment {
  const env = [secret('KAFKA_SASL_PASSWORD', kafkaUserName(console.name), 'password'), secret('CONSOLE_TOKEN', consoleTokenSecret.name, consoleTokenSecret.key), authJwtSecret()];
  return workloadDeployment(console, env, 1);
}

function workloadDeployment(workload: { readonly name: string; readonly port: number }, secretEnv: IEnvVar[], replicas?: number): IDeployment {
  const { name } = workload;
  const probe = (path: string, timing: { periodSeconds: number; failureThreshold: number; timeoutSeconds: number }) => ({
    httpGet: { path, port: 'http' },
    periodSeconds: timing.periodSeconds,
    failureThreshold: timing.failureThreshold,
    timeoutSeconds: timing.timeoutSeconds,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: serviceLabels(name, 'service') },
    spec: {
      // No `replicas` for a service: its HorizontalPodAutoscaler owns the count, and re-applying must not reset it.
      ...(replicas === undefined ? {} : { replicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(name) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: serviceLabels(name, 'service') },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: terminationGracePeriodSeconds(),
          securityContext: { runAsNonRoot: true, runAsUser: NODE_UID, runAsGroup: NODE_UID, seccompProfile: { type: 'RuntimeDefault' } },
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorLabels(name) } },
          ],
          containers: [
            {
              name,
              image: imageName(name),
              ports: [{ name: 'http', containerPort: workload.port, protocol: 'TCP' }],
              envFrom: [{ configMapRef: { name: configMapName(name) } }],
              env: secretEnv,
              // Migrations run before the server listens: allow two minutes before liveness counts.
              startupProbe: probe('/health/live', SETTINGS.probes.startup),
              // Live = no use case crashed for good (no I/O); failing restarts the pod.
              livenessProbe: probe('/health/live', SETTINGS.probes.liveness),
              // Ready = the API serves (database answers, migrations applied); Kafka down is only
              // 'degraded', so a broker outage never takes every pod out of the Service.
              readinessProbe: probe('/health/ready', SETTINGS.probes.readiness),
              lifecycle: { preStop: { sleep: { seconds: SETTINGS.preStopSleepSeconds } } },
              // No CPU limit: throttling a Node event loop stalls heartbeats and causes rebalances.
              resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          // The root filesystem is read-only; whatever Node or a library writes goes to /tmp.
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}
