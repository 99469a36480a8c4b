/// <reference types="jest" />
import { KafkaNaming } from '@platform/messaging';
import path from 'node:path';
import { catalogConsole, loadServices, type ServiceModel } from '../catalog/load-services';
import { consoleAcls } from '../kafka/acls';
import { ENVIRONMENTS, REPO_ROOT } from '../paths';
import { authSecret, consoleTokenSecret, kafkaBootstrap, SETTINGS } from '../settings';
import { byKind, kustomizeBuild, single, type Resource } from './manifests';

interface Container {
  ports: { name: string; containerPort: number }[];
  env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom: { configMapRef: { name: string } }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  securityContext: { readOnlyRootFilesystem: boolean };
}
type Acl = { resource: { type: string; name: string; patternType: string }; operations: string[] };

const { name, port } = catalogConsole();

describe.each(ENVIRONMENTS)('kubectl apply -k k8s/overlays/%s/console', (env) => {
  let services: ServiceModel[];
  let resources: Resource[];
  let container: Container;
  const secretOf = (variable: string) => container.env.find((e) => e.name === variable)?.valueFrom?.secretKeyRef;

  beforeAll(async () => {
    services = await loadServices();
    resources = kustomizeBuild(env, name);
    container = (single(resources, 'Deployment').spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0];
  });

  it('deploys its Deployment, Service, ConfigMap, NetworkPolicy and KafkaUser, and no database, topic or autoscaler', () => {
    expect(resources.map((r) => `${r.kind}/${r.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort()).toEqual(
      ['ConfigMap/console-config', 'Deployment/console', 'KafkaUser/console', 'NetworkPolicy/console', 'Service/console'].sort(),
    );
    for (const resource of resources) expect(resource.metadata.namespace).toBe(SETTINGS.namespace);
    expect((single(resources, 'Deployment').spec as { replicas: number }).replicas).toBe(1);
  });

  it('serves its catalog port behind its Service, probed on its health endpoints, read-only', () => {
    expect(container.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: port })]);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect((single(resources, 'Service').spec as { ports: unknown[] }).ports).toEqual([expect.objectContaining({ port, targetPort: 'http' })]);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('takes CONSOLE_TOKEN from the console-token Secret, the signing key from the platform-auth Secret the services verify with, the Kafka password from its KafkaUser, and has no DATABASE_URL', () => {
    expect(secretOf('CONSOLE_TOKEN')).toEqual(consoleTokenSecret);
    expect(secretOf('AUTH_JWT_SECRET')).toEqual(authSecret);
    expect(secretOf('KAFKA_SASL_PASSWORD')).toEqual({ name: single(resources, 'KafkaUser').metadata.name, key: 'password' });
    expect(container.env.map((e) => e.name)).not.toContain('DATABASE_URL');
  });

  it("passes the console's configuration check, with each service at its in-cluster Service", async () => {
    const configMap = single(resources, 'ConfigMap');
    expect(container.envFrom[0].configMapRef.name).toBe(configMap.metadata.name);
    // By path: tools may not import apps statically (module boundaries), as load-services does.
    const { loadConsoleConfig } = (await import(path.join(REPO_ROOT, 'apps/console/src/config/console-config.ts'))) as typeof import('../../../apps/console/src/config/console-config');
    const topology = services.map((s) => ({ name: s.name, port: s.port, publishes: [], useCases: [] }));
    // Secrets stood in as the kubelet will; NODE_ENV as the image sets it.
    const secrets = { CONSOLE_TOKEN: 'from-the-console-token-secret', KAFKA_SASL_PASSWORD: 'from-the-kafka-user-secret', AUTH_JWT_SECRET: 'from-the-platform-auth-secret-0123456789' };
    const config = loadConsoleConfig(topology, { ...configMap.data, ...secrets, NODE_ENV: 'production' });
    expect(config.serviceAuth.secret).toBe(secrets.AUTH_JWT_SECRET);
    expect(config).toMatchObject({ port, kafkaBrokers: [kafkaBootstrap()], kafkaNamespace: '', kafkaSasl: { mechanism: 'scram-sha-512', username: single(resources, 'KafkaUser').metadata.name } });
    expect(config.serviceUrls).toEqual(Object.fromEntries(services.map((s) => [s.name, `http://${s.name}:${s.port}`])));
  });

  it('may reach DNS, the brokers and each service on its own port, and no database', () => {
    const egress = (single(resources, 'NetworkPolicy').spec as { egress: { to: { podSelector?: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[] }).egress;
    const toServices = egress.filter((rule) => rule.to.some((peer) => peer.podSelector?.matchLabels['app.kubernetes.io/name']));
    expect(toServices.map((rule) => [rule.to[0].podSelector!.matchLabels['app.kubernetes.io/name'], rule.ports.map((p) => p.port)])).toEqual(services.map((s) => [s.name, [s.port]]));
    expect(JSON.stringify(egress)).not.toContain('cnpg.io');
    expect(egress).toHaveLength(2 + services.length);
  });

  describe('its KafkaUser', () => {
    let acls: Acl[];
    const naming = new KafkaNaming(SETTINGS.kafka.topicNamespace);
    const ops = (type: string, resource: string) => acls.find((a) => a.resource.type === type && a.resource.name === resource)?.operations ?? [];

    beforeAll(() => {
      acls = (single(resources, 'KafkaUser').spec as { authorization: { acls: Acl[] } }).authorization.acls;
    });

    it('carries the generated ACLs, every one literal', () => {
      expect(acls).toEqual(consoleAcls(services, naming));
      expect(acls.every((a) => a.resource.patternType === 'literal')).toBe(true);
      expect(byKind(resources, 'KafkaUser')).toHaveLength(1);
    });

    // Recomputed from the declarations, independently of the generator: what the console's code does.
    it.each(['read every event topic, dead-letter and redrive topic', 'write only redrive topics', 'describe the use case groups and join only the redrive cursors'])('lets it %s', (what) => {
      for (const service of services) {
        for (const useCase of service.useCases) {
          const group = naming.group(service.name, useCase.name);
          const dlq = naming.deadLetterTopic(service.name, useCase.name);
          const redrive = naming.redriveTopic(service.name, useCase.name);
          if (what.startsWith('read')) {
            for (const topic of [...naming.useCase(service.name, useCase).topics, dlq, redrive]) expect({ topic, ops: ops('topic', topic) }).toEqual({ topic, ops: expect.arrayContaining(['Read', 'Describe']) });
          } else if (what.startsWith('write')) {
            expect(ops('topic', redrive)).toContain('Write');
            expect(ops('topic', dlq)).not.toContain('Write');
          } else {
            expect(ops('group', group)).toEqual(['Describe']);
            expect(ops('group', `${group}.redrive-cursor`)).toEqual(['Read']);
          }
        }
        for (const event of service.publishes) expect(ops('topic', naming.topic(event))).toEqual(['Read', 'Describe']);
      }
      const writable = acls.filter((a) => a.operations.includes('Write')).map((a) => a.resource.name);
      expect(writable.every((topic) => topic.endsWith('.redrive'))).toBe(true);
      const joinable = acls.filter((a) => a.resource.type === 'group' && a.operations.includes('Read')).map((a) => a.resource.name);
      expect(joinable.every((group) => group.endsWith('.redrive-cursor'))).toBe(true);
    });
  });
});
