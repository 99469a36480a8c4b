/// <reference types="jest" />
import { ENVIRONMENTS } from '../paths';
import { catalogConsole, catalogServices } from '../catalog/load-services';
import { filesUnder, kustomizeBuild, readDocuments, type Resource } from './manifests';
import { resourceErrors } from './schemas/validate-resource';

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('Kubernetes manifests validate against their schemas', () => {
  const services = catalogServices().map((s) => s.name);
  const resourceFiles = [...filesUnder('k8s/base'), ...filesUnder('k8s/generated')].filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml'));

  it('finds the files to validate', () => {
    expect(resourceFiles.length).toBeGreaterThanOrEqual(services.length * 8);
  });

  it.each(resourceFiles)('%s', (file) => {
    const documents = readDocuments(file);
    expect(documents.length).toBeGreaterThan(0);
    for (const resource of documents) expect({ file, kind: resource.kind, name: resource.metadata.name, errors: resourceErrors(resource) }).toMatchObject({ errors: [] });
  });

  // What the overlays produce after their patches: the resources `kubectl apply -k` sends.
  const overlays = ENVIRONMENTS.flatMap((env) => [...services, catalogConsole().name].map((service) => [env, service] as const));
  it.each(overlays)('kustomize build of %s/%s', (env, service) => {
    const resources = kustomizeBuild(env, service);
    for (const resource of resources) expect({ kind: resource.kind, name: resource.metadata.name, errors: resourceErrors(resource) }).toMatchObject({ errors: [] });
  });

  describe('the validators reject what a cluster would reject', () => {
    let built: Resource[];
    const find = (kind: string) => clone(built.find((r) => r.kind === kind)!);

    beforeAll(() => {
      built = kustomizeBuild('prod', 'notifications');
    });

    it('a Deployment whose container port is not a number', () => {
      const deployment = find('Deployment') as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } } & Resource;
      deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
      expect(resourceErrors(deployment).join()).toMatch(/containerPort/);
    });

    it('an HPA without its scale target', () => {
      const hpa = find('HorizontalPodAutoscaler');
      delete (hpa.spec as Record<string, unknown>)['scaleTargetRef'];
      expect(resourceErrors(hpa).join()).toMatch(/scaleTargetRef/);
    });

    it('a KafkaTopic with zero partitions or an unknown field', () => {
      const topic = find('KafkaTopic');
      Object.assign(topic.spec!, { partitions: 0, retention: 1 });
      expect(resourceErrors(topic)).toEqual(['spec.partitions: must be >= 1, got 0', 'spec: unknown field retention']);
    });

    it('a KafkaUser with an operation Kafka does not have', () => {
      const user = find('KafkaUser') as Resource & { spec: { authorization: { acls: { operations: string[] }[] } } };
      user.spec.authorization.acls[0].operations = ['Admin'];
      expect(resourceErrors(user).join()).toMatch(/acls\[0\]\.operations\[0\]: must be one of/);
    });

    it('a CloudNativePG Cluster without instances, or with a non-string parameter', () => {
      const cluster = find('Cluster') as Resource & { spec: { instances?: number; postgresql: { parameters: Record<string, unknown> } } };
      delete cluster.spec.instances;
      cluster.spec.postgresql.parameters['max_connections'] = 200;
      expect(resourceErrors(cluster)).toEqual(['spec: instances is required', 'spec.postgresql.parameters.max_connections: must be string, got integer']);
    });

    it('a kind nobody wrote a schema for', () => {
      expect(resourceErrors({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toEqual([
        'no schema for example.com/v1 Widget: add it to tools/deploy/test/schemas',
      ]);
    });
  });
});
