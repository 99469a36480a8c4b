import { selectorLabels } from './labels';
import { configMapName } from './workload/config-env';

export const BASE_FILES = {
  deployment: 'deployment.yaml',
  service: 'service.yaml',
  hpa: 'hpa.yaml',
  pdb: 'pdb.yaml',
  networkPolicy: 'networkpolicy.yaml',
  config: 'config.env',
} as const;

/** A service's: its workload, autoscaled, with a disruption budget. */
const SERVICE_BASE_FILES = [BASE_FILES.deployment, BASE_FILES.service, BASE_FILES.hpa, BASE_FILES.pdb, BASE_FILES.networkPolicy];

export const GENERATED_FILES = { topics: 'kafka-topics.yaml', user: 'kafka-user.yaml', database: 'database.yaml' } as const;

/**
 * `k8s/base/<service>`: the workload, plus the service's Kafka topics, Kafka user and database
 * from `k8s/generated/<service>`, so one `kubectl apply -k` of an overlay deploys all of it.
 */
export function baseKustomization(name: string, files: readonly string[] = SERVICE_BASE_FILES): object {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [`../../generated/${name}`, ...files],
    configMapGenerator: [{ name: configMapName(name), envs: [BASE_FILES.config], options: { labels: selectorLabels(name) } }],
  };
}

export function generatedKustomization(files: readonly string[] = [GENERATED_FILES.topics, GENERATED_FILES.user, GENERATED_FILES.database]): object {
  return { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [...files] };
}

/**
 * The console's: one replica, so no autoscaler or disruption budget (a drain restarts it; it
 * holds no state), and no topics or database of its own, only its Kafka user.
 */
export const CONSOLE_BASE_FILES = [BASE_FILES.deployment, BASE_FILES.service, BASE_FILES.networkPolicy];
export const CONSOLE_GENERATED_FILES = [GENERATED_FILES.user];
