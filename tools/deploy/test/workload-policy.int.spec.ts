/// <reference types="jest" />
import { loadServiceConfig } from '@platform/service-kit';
import { catalogServices } from '../catalog/load-services';
import { ENVIRONMENTS } from '../paths';
import { authSecret, kafkaBootstrap, SETTINGS } from '../settings';
import { kustomizeBuild, single, type Resource } from './manifests';

interface Probe {
  httpGet: { path: string; port: string };
  periodSeconds: number;
  failureThreshold: number;
  timeoutSeconds: number;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface PodSpec {
  automountServiceAccountToken: boolean;
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
  volumes: { name: string; emptyDir?: object }[];
  containers: {
    image: string;
    ports: { name: string; containerPort: number }[];
    env: EnvVar[];
    startupProbe: Probe;
    livenessProbe: Probe;
    readinessProbe: Probe;
    lifecycle: { preStop: { sleep: { seconds: number } } };
    resources: { requests: { cpu: string; memory: string }; limits: { memory: string } };
    securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; capabilities: { drop: string[] } };
    volumeMounts: { name: string; mountPath: string }[];
  }[];
}
interface PolicyPeer {
  namespaceSelector?: { matchLabels: Record<string, string> };
  podSelector?: { matchLabels: Record<string, string> };
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports: { protocol: string; port: number }[];
}

const cases = ENVIRONMENTS.flatMap((env) => catalogServices().map(({ name, port }) => [env, name, port] as const));

describe.each(cases)('%s/%s workload', (env, name, port) => {
  let resources: Resource[];
  let pod: PodSpec;
  let podLabels: Record<string, string>;
  let config: Record<string, string>;
  const envVar = (variable: string) => pod.containers[0].env.find((e) => e.name === variable)?.valueFrom?.secretKeyRef;

  beforeAll(() => {
    resources = kustomizeBuild(env, name);
    const template = (single(resources, 'Deployment').spec as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }).template;
    pod = template.spec;
    podLabels = template.metadata.labels;
    config = single(resources, 'ConfigMap').data!;
  });

  it('serves its catalog port, probed on the health endpoints', () => {
    const [c] = pod.containers;
    expect(pod.containers).toHaveLength(1);
    expect(c.image).toBe(`platform-${name}`);
    expect(c.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: port })]);
    expect(c.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect((single(resources, 'Service').spec as { ports: unknown[] }).ports).toEqual([expect.objectContaining({ port, targetPort: 'http' })]);
  });

  describe('probes', () => {
    /** The longest the kubelet takes to act after the probed condition starts failing. */
    const worstCaseSeconds = (p: Probe) => p.periodSeconds * p.failureThreshold;

    it('restarts the pod within about a minute of a use case crashing for good (/health/live)', () => {
      const { livenessProbe } = pod.containers[0];
      expect(livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(worstCaseSeconds(livenessProbe)).toBeLessThanOrEqual(60);
    });

    it('does not restart the pod for a slow GC pause or one or two lost probes', () => {
      const { livenessProbe } = pod.containers[0];
      expect(livenessProbe.failureThreshold).toBeGreaterThanOrEqual(3);
      expect(livenessProbe.timeoutSeconds).toBeGreaterThanOrEqual(3);
      // The event loop must stall for longer than this before a restart.
      expect(livenessProbe.periodSeconds * (livenessProbe.failureThreshold - 1) + livenessProbe.timeoutSeconds).toBeGreaterThanOrEqual(20);
    });

    it('gives migrations two minutes before liveness counts', () => {
      const { startupProbe } = pod.containers[0];
      expect(startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(worstCaseSeconds(startupProbe)).toBeGreaterThanOrEqual(120);
    });

    it('takes the pod out of its Service only when its API cannot serve (/health/ready), and soon', () => {
      const { readinessProbe } = pod.containers[0];
      expect(readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      // /health/ready gives each dependency 2 s; the kubelet must wait longer than that.
      expect(readinessProbe.timeoutSeconds).toBeGreaterThan(2);
      expect(readinessProbe.failureThreshold).toBeGreaterThanOrEqual(2);
      expect(worstCaseSeconds(readinessProbe)).toBeLessThanOrEqual(15);
    });

    it('uses the timings of the deployment settings', () => {
      const { startupProbe, livenessProbe, readinessProbe } = pod.containers[0];
      expect(startupProbe).toMatchObject(SETTINGS.probes.startup);
      expect(livenessProbe).toMatchObject(SETTINGS.probes.liveness);
      expect(readinessProbe).toMatchObject(SETTINGS.probes.readiness);
    });
  });

  it('runs as non-root on a read-only root filesystem, with /tmp on an emptyDir', () => {
    const [c] = pod.containers;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const tmp = c.volumeMounts.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it('gives graceful shutdown its whole deadline before SIGKILL', () => {
    const shutdownSeconds = Number(config['SHUTDOWN_TIMEOUT_MS']) / 1000;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(pod.containers[0].lifecycle.preStop.sleep.seconds + shutdownSeconds + 5);
  });

  it('requests CPU and memory and caps memory', () => {
    const { resources: r } = pod.containers[0];
    expect(r.requests.cpu).toBeTruthy();
    expect(r.requests.memory).toBeTruthy();
    expect(r.limits.memory).toBeTruthy();
  });

  /** The database cluster's bootstrap and its managed roles. */
  const clusterSpec = () =>
    single(resources, 'Cluster').spec as {
      bootstrap: { initdb: { database: string; owner: string; postInitApplicationSQL: string[] } };
      managed: { roles: { name: string; login: boolean; passwordSecret: { name: string } }[] };
    };
  /** The container's variables as the kubelet sets them: secrets stood in by `secrets`, $(VAR) expanded from the variables before. */
  const containerEnv = (secrets: Record<string, string>) => {
    const values: Record<string, string> = {};
    for (const e of pod.containers[0].env) {
      const ref = e.valueFrom?.secretKeyRef;
      values[e.name] = ref ? secrets[`${ref.name}/${ref.key}`] : (e.value ?? '').replace(/\$\(([A-Z_]+)\)/g, (_m, v: string) => values[v] ?? `$(${v})`);
    }
    return values;
  };

  it('migrates as the database owner (its CloudNativePG secret) and runs as the runtime role, whose password CNPG sets from the Secret the pod reads', () => {
    const cluster = single(resources, 'Cluster');
    const { bootstrap, managed } = clusterSpec();
    expect(envVar('MIGRATION_DATABASE_URL')).toEqual({ name: `${cluster.metadata.name}-app`, key: 'uri' });
    expect(bootstrap.initdb.owner).toBe(`${name}_migrator`);

    const runtime = new URL(containerEnv({ [`${cluster.metadata.name}-runtime/password`]: 'c0ffee' })['DATABASE_URL']);
    expect(runtime).toMatchObject({ username: `${name}_svc`, password: 'c0ffee', hostname: `${cluster.metadata.name}-rw`, pathname: `/${bootstrap.initdb.database}` });
    const [role] = managed.roles;
    expect(managed.roles).toHaveLength(1);
    expect(role).toMatchObject({ name: runtime.username, login: true, passwordSecret: { name: envVar('DATABASE_RUNTIME_PASSWORD')?.name } });
    // Created at initdb with the privileges `npm start` gives it: rows only, on whatever the migrator creates.
    expect(bootstrap.initdb.postInitApplicationSQL).toEqual(
      expect.arrayContaining([`CREATE ROLE ${role.name} LOGIN;`, `ALTER DEFAULT PRIVILEGES FOR ROLE ${name}_migrator GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO ${role.name};`]),
    );
  });

  it('takes the Kafka password from its KafkaUser secret and the token key from the platform-auth Secret', () => {
    const user = single(resources, 'KafkaUser');
    expect(envVar('KAFKA_SASL_PASSWORD')).toEqual({ name: user.metadata.name, key: 'password' });
    expect(envVar('AUTH_JWT_SECRET')).toEqual(authSecret);
    expect(config['AUTH_JWT_SECRET']).toBeUndefined();
    expect(config['KAFKA_SASL_USERNAME']).toBe(user.metadata.name);
  });

  it("passes the service's configuration check in production mode, as the image runs it", () => {
    const cluster = single(resources, 'Cluster');
    const { database, owner } = clusterSpec().bootstrap.initdb;
    // Secrets are only references here: stand in their values, as the kubelet will. The `uri`
    // has the shape CloudNativePG writes into `<cluster>-app`.
    const env = containerEnv({
      [`${cluster.metadata.name}-app/uri`]: `postgresql://${owner}:generated@${cluster.metadata.name}-rw.${SETTINGS.namespace}:5432/${database}`,
      [`${cluster.metadata.name}-runtime/password`]: 'c0ffee',
      [`${name}/password`]: 'from-the-kafka-user-secret',
      [`${authSecret.name}/${authSecret.key}`]: 'a-jwt-secret-of-at-least-32-characters',
    });
    const loaded = loadServiceConfig({ service: name, port: 1 }, { ...config, ...env, NODE_ENV: 'production' });
    expect(loaded).toMatchObject({
      port,
      kafkaBrokers: [kafkaBootstrap()],
      kafkaNamespace: '',
      shutdownTimeoutMs: SETTINGS.shutdownTimeoutMs,
      kafkaSasl: { mechanism: 'scram-sha-512', username: name, password: 'from-the-kafka-user-secret' },
      migrationDatabaseUrl: env['MIGRATION_DATABASE_URL'],
      databaseUrl: env['DATABASE_URL'],
    });
    expect(config['LOG_FORMAT']).toBe('json');
  });

  it('selects its own pods from the Service, PDB, NetworkPolicy and HPA', () => {
    const selects = (r: Resource) => (r.spec as { selector?: Record<string, string> & { matchLabels?: Record<string, string> }; podSelector?: { matchLabels: Record<string, string> } });
    const service = selects(single(resources, 'Service')).selector!;
    const pdb = selects(single(resources, 'PodDisruptionBudget')).selector!.matchLabels!;
    const policy = selects(single(resources, 'NetworkPolicy')).podSelector!.matchLabels;
    for (const selector of [service, pdb, policy]) expect(podLabels).toMatchObject(selector);
    expect((single(resources, 'HorizontalPodAutoscaler').spec as { scaleTargetRef: object }).scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
  });

  describe('NetworkPolicy', () => {
    let policyTypes: string[];
    let ingress: PolicyRule[];
    let egress: PolicyRule[];

    beforeAll(() => {
      ({ policyTypes, ingress, egress } = single(resources, 'NetworkPolicy').spec as { policyTypes: string[]; ingress: PolicyRule[]; egress: PolicyRule[] });
    });

    it('admits traffic on its HTTP port only', () => {
      // Both types listed: whatever no rule allows is denied, in either direction.
      expect(policyTypes).toEqual(['Ingress', 'Egress']);
      expect(ingress).toEqual([{ ports: [{ protocol: 'TCP', port }] }]);
    });

    it('lets it reach DNS, the Kafka brokers and its own database, and nothing else', () => {
      const ownDatabase = single(resources, 'Cluster').metadata.name;
      expect(egress).toEqual([
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': SETTINGS.kafka.clusterNamespace } },
              podSelector: { matchLabels: { 'strimzi.io/cluster': SETTINGS.kafka.cluster, 'strimzi.io/kind': 'Kafka' } },
            },
          ],
          ports: [{ protocol: 'TCP', port: Number(kafkaBootstrap().split(':')[1]) }],
        },
        { to: [{ podSelector: { matchLabels: { 'cnpg.io/cluster': ownDatabase } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
      ]);
    });
  });
});
