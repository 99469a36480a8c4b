import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { ServiceModel } from '../../catalog/load-services';
import { selectorLabels, serviceLabels } from '../labels';

/**
 * Scale on CPU. The ceiling is the default partition count (6): beyond it extra replicas add
 * HTTP capacity but idle consumers, and every replica holds a database pool.
 */
export function horizontalPodAutoscaler(model: ServiceModel): IHorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: model.name, labels: serviceLabels(model.name, 'service') },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: model.name },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  };
}

/** Voluntary disruptions (node drains) take one pod at a time; with one replica (dev) drains still proceed. */
export function podDisruptionBudget(model: ServiceModel): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: model.name, labels: serviceLabels(model.name, 'service') },
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(model.name) } },
  };
}
