/// <reference types="jest" />
import { loadServiceConfig } from '@platform/service-kit';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { catalogConsole, catalogServices } from '../catalog/load-services';
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

/** What the operator exports before `docker compose up`. */
const SHELL: Record<string, string> = { AUTH_JWT_SECRET: 'exported-in-the-shell-0123456789abcdef', CONSOLE_TOKEN: 'a-token-of-sixteen-chars' };
/** The environment as compose interpolates it: `${NAME:?message}` becomes the shell's value (compose refuses to start without one). */
const fromShell = (environment: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [
      key,
      value.replace(/\$\{([A-Z_]+):\?[^}]*\}/g, (_match, name: string) => {
        if (!(name in SHELL)) throw new Error(`${key} takes ${name} from the shell: give it a value in SHELL`);
        return SHELL[name];
      }),
    ]),
  );

describe('docker/compose.yaml', () => {
  const compose = readYaml<{ services: Record<string, ComposeService> }>(COMPOSE);
  const services = catalogServices();

  it('runs Kafka, topic provisioning, PostgreSQL, every service of the catalog and the console, nothing else', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...INFRASTRUCTURE, ...services.map((s) => s.name), catalogConsole().name].sort());
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

    it('takes AUTH_JWT_SECRET from the shell and refuses to start the stack without it', () => {
      expect(environment['AUTH_JWT_SECRET']).toMatch(/^\$\{AUTH_JWT_SECRET:\?[^}]+\}$/);
    });

    it("passes the service's configuration check, on its own port, brokers and JSON logs, in the stack's development mode (over the image's production: it runs on the development passwords)", () => {
      expect(environment['NODE_ENV']).toBe('development');
      const config = loadServiceConfig({ service: name, port: 1 }, fromShell(environment));
      expect(config).toMatchObject({ port, kafkaBrokers: ['kafka:9092'], kafkaNamespace: '', auth: { kind: 'secret', secret: SHELL['AUTH_JWT_SECRET'], development: false } });
      expect(environment['LOG_FORMAT']).toBe('json');
      expect(service.ports).toEqual([`${port}:${port}`]);
    });

    it('runs as its runtime role and migrates as its migration role, on its own database, all created by the init script', () => {
      const runtime = new URL(environment['DATABASE_URL']);
      const migrator = new URL(environment['MIGRATION_DATABASE_URL']);
      const sql = readRepoFile(COMPOSE_INIT_SQL);
      const database = runtime.pathname.slice(1);
      expect([runtime.hostname, migrator.hostname]).toEqual(['postgres', 'postgres']);
      expect([database, migrator.pathname.slice(1)]).toEqual([`platform_${name}`, `platform_${name}`]);
      expect([runtime.username, migrator.username]).toEqual([`${name}_svc`, `${name}_migrator`]);
      for (const url of [runtime, migrator]) expect(sql).toContain(`CREATE ROLE ${url.username} LOGIN PASSWORD '${url.password}';`);
      expect(sql).toContain(`CREATE DATABASE ${database} OWNER ${migrator.username};`);
      expect(sql).toContain(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC;`);
      // Inside the database: what the migrator creates, the runtime role may read and write, nothing more.
      const inDatabase = sql.split(`\\connect ${database}\n`)[1].split('\\connect postgres')[0];
      expect(inDatabase).toContain(`ALTER DEFAULT PRIVILEGES FOR ROLE ${migrator.username} GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO ${runtime.username};`);
      expect(inDatabase).toContain(`REVOKE CREATE ON SCHEMA public FROM PUBLIC;`);
    });

    it('says NODE_ENV=development: the image says production, which refuses these development passwords', () => {
      expect(environment['NODE_ENV']).toBe('development');
      expect(() => loadServiceConfig({ service: name, port: 1 }, { ...environment, NODE_ENV: 'production' })).toThrow(/DATABASE_URL uses the development password/);
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
      // Four node processes, each bounded by runNode's own 10 s: jest's default 5 s for all of
      // them timed out twice in a full CI run on two loaded cores (1.5-2 s with this spec alone).
    }, 60_000);

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

  describe('console', () => {
    const { name, port } = catalogConsole();
    const console = compose.services[name];
    const environment = console.environment ?? {};

    it('is built from docker/Dockerfile with SERVICE=console', () => {
      expect(console.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile', args: { SERVICE: name } });
      expect(console.image).toBe(`platform-${name}`);
      expect(console.ports).toEqual([`${port}:${port}`]);
    });

    it('takes CONSOLE_TOKEN and AUTH_JWT_SECRET from the shell and refuses to start the stack without them', () => {
      expect(environment['CONSOLE_TOKEN']).toMatch(/^\$\{CONSOLE_TOKEN:\?[^}]+\}$/);
      expect(environment['AUTH_JWT_SECRET']).toMatch(/^\$\{AUTH_JWT_SECRET:\?[^}]+\}$/);
    });

    it("passes the console's configuration check, reaching every service by its compose name and port", async () => {
      // By path: tools may not import apps statically (module boundaries), as load-services does.
      const { loadConsoleConfig } = (await import(path.join(REPO_ROOT, 'apps/console/src/config/console-config.ts'))) as typeof import('../../../apps/console/src/config/console-config');
      const config = loadConsoleConfig(services.map((s) => ({ ...s, publishes: [], useCases: [] })), { ...fromShell(environment), NODE_ENV: 'production' });
      expect(config).toMatchObject({ port, kafkaBrokers: ['kafka:9092'], kafkaNamespace: '', serviceAuth: { secret: SHELL['AUTH_JWT_SECRET'] } });
      expect(config.serviceUrls).toEqual(Object.fromEntries(services.map((s) => [s.name, `http://${s.name}:${s.port}`])));
    });

    it('starts once the topics exist and every service is healthy, and is healthy when it serves /health/live', () => {
      expect(console.depends_on).toEqual({
        'kafka-topics': { condition: 'service_completed_successfully' },
        ...Object.fromEntries(services.map((s) => [s.name, { condition: 'service_healthy' }])),
      });
      expect(console.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/health/live`);
    });

    it('runs read-only with a writable /tmp', () => {
      expect(console.read_only).toBe(true);
      expect(console.tmpfs).toEqual(['/tmp']);
    });
  });
});
