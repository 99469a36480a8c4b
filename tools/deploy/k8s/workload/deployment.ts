import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { ServiceModel } from '../../catalog/load-services';
import { databaseAppSecret, imageName, kafkaUserName, SETTINGS } from '../../settings';
import { selectorLabels, serviceLabels } from '../labels';
import { configMapName } from './config-env';

/** The image's `node` user (node:20 images); numeric, so the kubelet can verify runAsNonRoot. */
const NODE_UID = 1000;

/**
 * SIGTERM arrives after the preStop sleep; the service then has SHUTDOWN_TIMEOUT_MS to finish
 * in-flight events and requests. Five more seconds for committing and closing pools before
 * the kubelet sends SIGKILL.
 */
export const terminationGracePeriodSeconds = (): number => SETTINGS.preStopSleepSeconds + Math.ceil(SETTINGS.shutdownTimeoutMs / 1000) + 5;

export function deployment(service: ServiceModel): IDeployment {
  const { name } = service;
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
      // No `replicas`: the HorizontalPodAutoscaler owns the count, and re-applying must not reset it.
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
              ports: [{ name: 'http', containerPort: service.port, protocol: 'TCP' }],
              envFrom: [{ configMapRef: { name: configMapName(name) } }],
              env: [
                { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: databaseAppSecret(name), key: 'uri' } } },
                { name: 'KAFKA_SASL_PASSWORD', valueFrom: { secretKeyRef: { name: kafkaUserName(name), key: 'password' } } },
              ],
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
