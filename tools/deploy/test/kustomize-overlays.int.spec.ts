/// <reference types="jest" />
import { KafkaNaming } from '@platform/messaging';
import { catalogConsole, catalogServices, loadServices, type ServiceModel } from '../catalog/load-services';
import { ownedTopics } from '../kafka/topics';
import { ENVIRONMENTS, type Environment } from '../paths';
import { databaseCluster, kafkaUserName, SETTINGS } from '../settings';
import { byKind, filesUnder, kustomizeBuild, single, type Resource } from './manifests';

type Container = { envFrom: { configMapRef: { name: string } }[]; resources: { limits: { memory: string } } };
const container = (deployment: Resource) => (deployment.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0];
const hpaSpec = (r: Resource) => r.spec as { minReplicas: number; maxReplicas: number };

describe('kubectl apply -k k8s/overlays/<env>/<service>', () => {
  let services: ServiceModel[];
  const builds = new Map<string, Resource[]>();
  const build = (env: Environment, service: string) => builds.get(`${env}/${service}`)!;

  beforeAll(async () => {
    services = await loadServices();
    // One `kubectl kustomize` per overlay; a missing kubectl fails here with its own message.
    for (const env of ENVIRONMENTS) for (const s of services) builds.set(`${env}/${s.name}`, kustomizeBuild(env, s.name));
  });

  const cases = ENVIRONMENTS.flatMap((env) => catalogServices().map(({ name }) => [env, name] as const));

  it('has one overlay per environment and catalog service, one for the console (console-workload.int.spec.ts), and no other', () => {
    const overlays = filesUnder('k8s/overlays').map((file) => file.replace(/^k8s\/overlays\/(.+)\/kustomization\.yaml$/, '$1'));
    expect(overlays.sort()).toEqual([...cases.map(([env, name]) => `${env}/${name}`), ...ENVIRONMENTS.map((env) => `${env}/${catalogConsole().name}`)].sort());
  });

  it.each(cases)('%s/%s deploys the whole service and nothing of any other', (env, name) => {
    const resources = build(env, name);
    const model = services.find((s) => s.name === name)!;
    const names = (kind: string) => byKind(resources, kind).map((r) => r.metadata.name).sort();
    expect(names('Deployment')).toEqual([name]);
    expect(names('Service')).toEqual([name]);
    expect(names('HorizontalPodAutoscaler')).toEqual([name]);
    expect(names('PodDisruptionBudget')).toEqual([name]);
    expect(names('NetworkPolicy')).toEqual([name]);
    expect(names('KafkaUser')).toEqual([kafkaUserName(name)]);
    expect(names('Cluster')).toEqual([databaseCluster(name)]);
    expect(names('KafkaTopic')).toEqual(ownedTopics(model, new KafkaNaming(SETTINGS.kafka.topicNamespace)).map((t) => t.topic).sort());
    // The generated ConfigMap carries a content hash, and the Deployment points at that name.
    const configMap = single(resources, 'ConfigMap');
    expect(configMap.metadata.name).toMatch(new RegExp(`^${name}-config-[a-z0-9]{10}$`));
    expect(container(single(resources, 'Deployment')).envFrom[0].configMapRef.name).toBe(configMap.metadata.name);
    const kinds = new Set(resources.map((r) => r.kind));
    expect([...kinds].sort()).toEqual(['Cluster', 'ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'KafkaTopic', 'KafkaUser', 'NetworkPolicy', 'PodDisruptionBudget', 'Service']);
    for (const resource of resources) {
      expect(resource.metadata.namespace).toBe(SETTINGS.namespace);
      expect(resource.metadata.labels?.['app.kubernetes.io/name']).toBe(name);
    }
  });

  it.each(cases)("%s/%s keeps every replica's database pool within the server's connections", (env, name) => {
      const resources = build(env, name);
      const pool = Number(single(resources, 'ConfigMap').data!['DATABASE_POOL_SIZE']);
      const maxConnections = Number((single(resources, 'Cluster').spec as { postgresql: { parameters: Record<string, string> } }).postgresql.parameters['max_connections']);
      // During a rolling update one surge pod runs next to the maximum; CNPG keeps connections for itself.
      expect((hpaSpec(single(resources, 'HorizontalPodAutoscaler')).maxReplicas + 1) * pool).toBeLessThanOrEqual(maxConnections - 10);
  });

  it('dev: one replica to start, one Kafka replica per partition, debug logs, one database instance', () => {
    for (const s of services) {
      const resources = build('dev', s.name);
      expect(hpaSpec(single(resources, 'HorizontalPodAutoscaler')).minReplicas).toBe(1);
      for (const topic of byKind(resources, 'KafkaTopic')) expect((topic.spec as { replicas: number }).replicas).toBe(1);
      expect(single(resources, 'ConfigMap').data!['LOG_LEVEL']).toBe('debug');
      expect((single(resources, 'Cluster').spec as { instances: number }).instances).toBe(1);
    }
  });

  it('prod: at least three replicas, three Kafka replicas, info logs, a three-instance database, more memory', () => {
    for (const s of services) {
      const resources = build('prod', s.name);
      expect(hpaSpec(single(resources, 'HorizontalPodAutoscaler')).minReplicas).toBeGreaterThanOrEqual(3);
      for (const topic of byKind(resources, 'KafkaTopic')) expect((topic.spec as { replicas: number }).replicas).toBe(3);
      expect(single(resources, 'ConfigMap').data!['LOG_LEVEL']).toBe('info');
      expect((single(resources, 'Cluster').spec as { instances: number }).instances).toBe(3);
      expect(container(single(resources, 'Deployment')).resources.limits.memory).toBe('768Mi');
    }
  });
});
