import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { ServiceModel } from '../../catalog/load-services';
import { databaseCluster, SETTINGS } from '../../settings';
import { selectorLabels, serviceLabels } from '../labels';

const POSTGRES_PORT = 5432;
const inNamespace = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });

/**
 * Ingress on the HTTP port only. Egress to exactly three places: cluster DNS, the Strimzi
 * brokers, and this service's own CloudNativePG pods; a compromised service cannot reach
 * another service's database or anything outside the cluster.
 */
export function networkPolicy(model: ServiceModel): INetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: model.name, labels: serviceLabels(model.name, 'service') },
    spec: {
      podSelector: { matchLabels: selectorLabels(model.name) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: model.port }] }],
      egress: [
        {
          to: [{ namespaceSelector: inNamespace('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        {
          to: [
            {
              namespaceSelector: inNamespace(SETTINGS.kafka.clusterNamespace),
              podSelector: { matchLabels: { 'strimzi.io/cluster': SETTINGS.kafka.cluster, 'strimzi.io/kind': 'Kafka' } },
            },
          ],
          ports: [{ protocol: 'TCP', port: SETTINGS.kafka.port }],
        },
        {
          to: [{ podSelector: { matchLabels: { 'cnpg.io/cluster': databaseCluster(model.name) } } }],
          ports: [{ protocol: 'TCP', port: POSTGRES_PORT }],
        },
      ],
    },
  };
}
