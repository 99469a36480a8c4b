import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafka, repoRoot } from './kafka';
import { uniqueName } from './names';
import { dropDatabase } from './postgres';
import { provisionServiceDatabase, type ServiceDatabase } from './service-database';
import { freePort, ServiceProcess } from './service-process';
import { TestTokens } from './tokens';

export interface PlatformService {
  readonly name: string;
  readonly port: number;
}

/** The deployable services, from tools/platform/services.json. */
export function platformServices(): PlatformService[] {
  return JSON.parse(readFileSync(path.join(repoRoot(), 'tools/platform/services.json'), 'utf8')).services;
}

/**
 * The whole platform for one end-to-end spec: every service as a process on a free port,
 * each with a fresh database of its own (its own runtime and migration roles, as deployed), all
 * in one Kafka namespace, all verifying bearer tokens with a secret of this run (`tokens` mints them).
 */
export class TestPlatform {
  readonly services = new Map<string, ServiceProcess>();
  readonly namespace = uniqueName('e2e').replace(/_/g, '-');
  private readonly databases: string[] = [];
  private readonly databaseByService = new Map<string, ServiceDatabase>();
  brokers: string[] = [];
  readonly tokens = new TestTokens(undefined, 'platform-e2e', 'platform');

  /**
   * @param names the services to start (default: all of them)
   * @param options.brokers a broker of the test's own (e.g. a PrivateKafka) instead of the shared one
   * @param options.envOf environment of one service only (e.g. its own Kafka credentials)
   */
  constructor(
    private readonly names: readonly string[] = platformServices().map((s) => s.name),
    private readonly options: { readonly brokers?: readonly string[]; readonly envOf?: (service: string) => Record<string, string> } = {},
  ) {}

  service(name: string): ServiceProcess {
    const service = this.services.get(name);
    if (!service) throw new Error(`service ${name} is not part of this platform`);
    return service;
  }

  /** The name of a service's database in this run: a test may change it behind the service's back (a fault). */
  databaseOf(name: string): string {
    return this.loginsOf(name).database;
  }

  /** A service's database with the connection strings of its runtime role and its migration role. */
  loginsOf(name: string): ServiceDatabase {
    const database = this.databaseByService.get(name);
    if (!database) throw new Error(`service ${name} has no database in this platform (not started?)`);
    return database;
  }

  async start(extraEnv: Record<string, string> = {}): Promise<this> {
    this.brokers = this.options.brokers ? [...this.options.brokers] : await ensureKafka();
    for (const name of this.names) {
      const database = `t_${name}_${this.namespace.replace(/-/g, '_')}`.slice(0, 63);
      const db = await provisionServiceDatabase({
        database,
        runtime: { role: `e2e_${name}_svc`, password: `e2e_${name}` },
        migrator: { role: `e2e_${name}_migrator`, password: `e2e_${name}_m` },
      });
      this.databases.push(database);
      this.databaseByService.set(name, db);
      const process = new ServiceProcess(name, await freePort(), {
        DATABASE_URL: db.url,
        MIGRATION_DATABASE_URL: db.migrationUrl,
        KAFKA_BROKERS: this.brokers.join(','),
        KAFKA_NAMESPACE: this.namespace,
        SHUTDOWN_TIMEOUT_MS: '15000',
        ...this.tokens.serviceEnv(),
        ...extraEnv,
        ...this.options.envOf?.(name),
      });
      this.services.set(name, process);
    }
    for (const service of this.services.values()) service.start();
    await Promise.all([...this.services.values()].map((s) => s.waitReady()));
    return this;
  }

  /** Restarts one service on the same port and database; resolves when it is ready and consuming. */
  /** Authorization header of the user with this id. */
  asUser(userId: string): Record<string, string> {
    return this.tokens.asUser(userId);
  }

  /** Authorization header of an operator. */
  asOperator(): Record<string, string> {
    return this.tokens.asOperator();
  }

  async restart(name: string): Promise<ServiceProcess> {
    const service = this.service(name);
    if (service.running) await service.stop();
    service.start();
    await service.waitReady();
    return service;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.stop()));
    for (const database of this.databases) await dropDatabase(database).catch(() => undefined);
    await deleteNamespaceTopics(this.brokers, this.namespace).catch(() => undefined);
  }
}

async function deleteNamespaceTopics(brokers: string[], namespace: string): Promise<void> {
  const admin = new Kafka({ clientId: 'e2e-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}
