import type { ServiceModel } from '../catalog/load-services';
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

export const GENERATED_FILES = { topics: 'kafka-topics.yaml', user: 'kafka-user.yaml', database: 'database.yaml' } as const;

/**
 * `k8s/base/<service>`: the workload, plus the service's Kafka topics, Kafka user and database
 * from `k8s/generated/<service>`, so one `kubectl apply -k` of an overlay deploys all of it.
 */
export function baseKustomization(model: ServiceModel): object {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [
      `../../generated/${model.name}`,
      BASE_FILES.deployment,
      BASE_FILES.service,
      BASE_FILES.hpa,
      BASE_FILES.pdb,
      BASE_FILES.networkPolicy,
    ],
    configMapGenerator: [{ name: configMapName(model.name), envs: [BASE_FILES.config], options: { labels: selectorLabels(model.name) } }],
  };
}

export function generatedKustomization(): object {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [GENERATED_FILES.topics, GENERATED_FILES.user, GENERATED_FILES.database],
  };
}
