/// <reference types="jest" />
import { loadServiceConfig } from '@platform/service-kit';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { catalogServices } from '../catalog/load-services';
import { COMPOSE_INIT_SQL, COMPOSE_TOPICS_SCRIPT } from '../generated-files';
import { databaseClusterResource } from '../k8s/cnpg';
import { REPO_ROOT } from '../paths';
import { SETTINGS } from '../settings';
import { readRepoFile, readYaml } from './manifests';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  entrypoint?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  stop_grace_period?: string;
}

const COMPOSE = 'docker/compose.yaml';
const INFRASTRUCTURE = ['kafka', 'kafka-topics', 'postgres'];

/** `./generated/x.sh:/in/container:ro` -> the repository path of the host side. */
const hostPath = (mount: string) => path.relative(REPO_ROOT, path.resolve(REPO_ROOT, 'docker', mount.split(':')[0]));
/** Runs a health-check script the way the container does (`node -e`); resolves with its exit code. */
const runNode = (script: string) =>
  new Promise<number>((resolve) => execFile(process.execPath, ['-e', script], { timeout: 10_000 }, (error) => resolve(error ? Number(error.code ?? 1) : 0)));
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1]);

describe('docker/compose.yaml', () => {
  const compose = readYaml<{ services: Record<string, ComposeService> }>(COMPOSE);
  const services = catalogServices();

  it('runs Kafka, topic provisioning, PostgreSQL and every service of the catalog, nothing else', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...INFRASTRUCTURE, ...services.map((s) => s.name)].sort());
  });

  it('runs Kafka in KRaft mode from the official image, at the version tools/kafka pins, without auto-created topics', () => {
    const kafka = compose.services['kafka'];
    const pinned = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readRepoFile('tools/kafka/pom.xml'))?.[1];
    expect(kafka.image).toBe(`apache/kafka:${pinned}`);
    expect(kafka.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' });
    expect(kafka.environment!['KAFKA_CONTROLLER_QUORUM_VOTERS']).toMatch(/^1@kafka:\d+$/);
    expect(kafka.environment!['KAFKA_ADVERTISED_LISTENERS']).toContain('PLAINTEXT://kafka:9092');
    expect(kafka.healthcheck?.test.join(' ')).toContain('--bootstrap-server localhost:9092');
  });

  it('provisions the generated topics once Kafka is healthy', () => {
    const topics = compose.services['kafka-topics'];
    expect(topics.image).toBe(compose.services['kafka'].image);
    expect(topics.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
    const [script] = topics.volumes!;
    expect(hostPath(script)).toBe(COMPOSE_TOPICS_SCRIPT);
    expect(topics.entrypoint).toEqual(['sh', script.split(':')[1]]);
  });

  it('initialises PostgreSQL with the generated per-service databases, on the major version CloudNativePG runs', () => {
    const postgres = compose.services['postgres'];
    expect(postgres.image).toBe(`postgres:${SETTINGS.postgres.major}`);
    expect(databaseClusterResource('users').spec.imageName.endsWith(`:${SETTINGS.postgres.major}`)).toBe(true);
    const [init] = postgres.volumes!;
    expect(hostPath(init)).toBe(COMPOSE_INIT_SQL);
    expect(init.split(':')[1]).toMatch(/^\/docker-entrypoint-initdb\.d\/.+\.sql$/);
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
  });

  describe.each(services)('$name', ({ name, port }) => {
    const service = compose.services[name];
    const environment = service.environment ?? {};

    it('is built from docker/Dockerfile with SERVICE set to it', () => {
      expect(service.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile', args: { SERVICE: name } });
      expect(existsSync(path.join(REPO_ROOT, 'docker', service.build!.context, service.build!.dockerfile))).toBe(true);
      expect(service.image).toBe(`platform-${name}`);
    });

    it("passes the service's configuration check, on its own port, brokers and JSON logs", () => {
      const config = loadServiceConfig({ service: name, port: 1 }, environment);
      expect(config).toMatchObject({ port, kafkaBrokers: ['kafka:9092'], kafkaNamespace: '' });
      expect(environment['LOG_FORMAT']).toBe('json');
      expect(service.ports).toEqual([`${port}:${port}`]);
    });

    it('connects as its own role to its own database, both created by the init script', () => {
      const url = new URL(environment['DATABASE_URL']);
      const sql = readRepoFile(COMPOSE_INIT_SQL);
      const database = url.pathname.slice(1);
      expect(url.hostname).toBe('postgres');
      expect(database).toBe(`platform_${name}`);
      expect(sql).toContain(`CREATE ROLE ${url.username} LOGIN PASSWORD '${url.password}';`);
      expect(sql).toContain(`CREATE DATABASE ${database} OWNER ${url.username};`);
      expect(sql).toContain(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC;`);
    });

    it('reports healthy when /health/live and /health/ready answer on its port', () => {
      expect(service.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/health/ready`);
      expect(service.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/health/live`);
    });

    it('is healthy while Kafka is away (degraded), unhealthy when the API cannot serve or a use case crashed', async () => {
      const [kind, program, flag, script] = service.healthcheck!.test;
      expect([kind, program, flag]).toEqual(['CMD', 'node', '-e']);
      const cases: [live: number, ready: number, readyStatus: string, healthy: boolean][] = [
        [200, 200, 'up', true],
        [200, 200, 'degraded', true],
        [200, 503, 'down', false],
        [503, 200, 'degraded', false],
      ];
      for (const [live, ready, readyStatus, healthy] of cases) {
        const server = createServer((request, response) => {
          const status = request.url === '/health/live' ? live : request.url === '/health/ready' ? ready : 404;
          response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status: request.url === '/health/ready' ? readyStatus : 'up' }));
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const { port: fakePort } = server.address() as AddressInfo;
        try {
          const exitCode = await runNode(script.replaceAll(`127.0.0.1:${port}/`, `127.0.0.1:${fakePort}/`));
          expect({ live, ready, readyStatus, healthy: exitCode === 0 }).toEqual({ live, ready, readyStatus, healthy });
        } finally {
          await new Promise((resolve) => server.close(resolve));
        }
      }
    });

    it('starts after PostgreSQL and Kafka are healthy and the topics exist', () => {
      expect(service.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        kafka: { condition: 'service_healthy' },
        'kafka-topics': { condition: 'service_completed_successfully' },
      });
    });

    it('runs read-only with a writable /tmp and time to shut down gracefully', () => {
      expect(service.read_only).toBe(true);
      expect(service.tmpfs).toEqual(['/tmp']);
      const shutdownMs = Number(environment['SHUTDOWN_TIMEOUT_MS'] ?? SETTINGS.shutdownTimeoutMs);
      expect(seconds(service.stop_grace_period ?? '')).toBeGreaterThanOrEqual(shutdownMs / 1000 + 5);
    });
  });
});
