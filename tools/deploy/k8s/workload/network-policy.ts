import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { ServiceModel } from '../../catalog/load-services';
import { databaseCluster, SETTINGS } from '../../settings';
import { selectorLabels, serviceLabels } from '../labels';

const POSTGRES_PORT = 5432;
const inNamespace = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });

const DNS: INetworkPolicyEgressRule = {
  to: [{ namespaceSelector: inNamespace('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};

const KAFKA_BROKERS: INetworkPolicyEgressRule = {
  to: [
    {
      namespaceSelector: inNamespace(SETTINGS.kafka.clusterNamespace),
      podSelector: { matchLabels: { 'strimzi.io/cluster': SETTINGS.kafka.cluster, 'strimzi.io/kind': 'Kafka' } },
    },
  ],
  ports: [{ protocol: 'TCP', port: SETTINGS.kafka.port }],
};

function policy(workload: { readonly name: string; readonly port: number }, egress: INetworkPolicyEgressRule[]): INetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: workload.name, labels: serviceLabels(workload.name, 'service') },
    spec: {
      podSelector: { matchLabels: selectorLabels(workload.name) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: workload.port }] }],
      egress,
    },
  };
}

/**
 * Ingress on the HTTP port only. Egress to exactly three places: cluster DNS, the Strimzi
 * brokers, and this service's own CloudNativePG pods; a compromised service cannot reach
 * another service's database or anything outside the cluster.
 */
export function networkPolicy(model: ServiceModel): INetworkPolicy {
  return policy(model, [
    DNS,
    KAFKA_BROKERS,
    { to: [{ podSelector: { matchLabels: { 'cnpg.io/cluster': databaseCluster(model.name) } } }], ports: [{ protocol: 'TCP', port: POSTGRES_PORT }] },
  ]);
}

/**
 * The console: ingress on its port; egress to DNS, the brokers and each service's pods on that
 * service's HTTP port (health, metrics, projections, sagas). No database: it reads none.
 */
export function consoleNetworkPolicy(console: { readonly name: string; readonly port: number }, services: readonly ServiceModel[]): INetworkPolicy {
  return policy(console, [
    DNS,
    KAFKA_BROKERS,
    ...services.map((s): INetworkPolicyEgressRule => ({ to: [{ podSelector: { matchLabels: selectorLabels(s.name) } }], ports: [{ protocol: 'TCP', port: s.port }] })),
  ]);
}
