/**
 * The platform a chaos run attacks: a Kafka broker and a PostgreSQL cluster of the run's own
 * (never the shared ones), one database per service on it, and every service as supervised
 * processes started from a snapshot of its build output (so a rebuild by someone else during
 * the run changes nothing). Like Kubernetes, the supervisor restarts a process that exits and
 * one whose /health/live answers 503.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, rmSync, statSync, symlinkSync, unlinkSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { PrivateKafka, PrivatePostgres, platformServices, provisionServiceDatabase, repoRoot, SERVICE_NODE_FLAGS, sleep, stablePort, TestTokens } from '@platform/testing';

export interface PlatformOptions {
  /** Where logs and the build snapshot go. */
  readonly runDir: string;
  /** Instances per service (default 1). */
  readonly instances: Readonly<Record<string, number>>;
  /** Echo service output to stderr. */
  readonly verbose: boolean;
  /** LOG_LEVEL of the services (default info). */
  readonly logLevel?: string;
  readonly log: (line: string) => void;
}

export interface ServiceDatabaseInfo {
  readonly service: string;
  readonly database: string;
  /** The service's own role. */
  readonly url: string;
}

export interface ExitRecord {
  readonly instance: string;
  readonly at: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines it wrote. */
  readonly tail: string;
}

/** What /health/ready answers, the parts we look at. */
interface Readiness {
  readonly status?: string;
}

/** One process of one service, restarted whenever it exits (after a short pause), like a pod. */
export class ServiceInstance {
  readonly name: string;
  /** application_name of its database sessions: how the relay leader is told apart. */
  readonly applicationName: string;
  private child?: ChildProcess;
  private exitPromise?: Promise<void>;
  private supervising = false;
  private supervisor?: Promise<void>;
  private monitor?: Promise<void>;
  private expectExit = false;
  private readonly logFile: WriteStream;
  private tailLines: string[] = [];
  /** /health/ready answered 200 since the last start. */
  serving = false;
  /** /health/ready answered 'up' (Kafka and every use case) since the last start. */
  consuming = false;
  starts = 0;
  livenessRestarts = 0;
  readonly unexpectedExits: ExitRecord[] = [];
  /** Called when the process serves again after a start. */
  onServing?: (instance: ServiceInstance) => void;

  constructor(
    readonly service: string,
    readonly index: number,
    readonly port: number,
    private readonly main: string,
    private readonly env: Record<string, string>,
    logDir: string,
    private readonly verbose: boolean,
  ) {
    this.name = `${service}#${index}`;
    this.applicationName = `chaos-${service}-${index}`;
    this.logFile = createWriteStream(path.join(logDir, `${service}-${index}.log`), { flags: 'a' });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and keeps it running until stop(). */
  start(): void {
    if (this.supervising) return;
    this.supervising = true;
    this.supervisor = this.supervise();
    this.monitor = this.watchHealth();
  }

  /** SIGKILL, as a crash: the supervisor starts it again. */
  kill(): void {
    if (!this.alive) return;
    this.expectExit = true;
    this.serving = false;
    this.consuming = false;
    this.child?.kill('SIGKILL');
  }

  /** SIGTERM (a graceful stop, like a rolling restart); the supervisor starts it again. Resolves once it consumes again. */
  async restart(timeoutMs = 120_000): Promise<void> {
    if (this.alive) {
      const exited = this.exitPromise;
      this.expectExit = true;
      this.serving = false;
      this.consuming = false;
      this.child?.kill('SIGTERM');
      await exited;
    }
    await sleep(100);
    await this.waitFor('consuming', timeoutMs);
  }

  /** Stops supervising and terminates the process gracefully (SIGKILL after the deadline). */
  async stop(timeoutMs = 25_000): Promise<void> {
    this.supervising = false;
    if (this.alive) {
      this.expectExit = true;
      this.child?.kill('SIGTERM');
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    await this.supervisor;
    await this.monitor;
    await new Promise((resolve) => this.logFile.end(resolve));
  }

  tail(lines = 40): string {
    return this.tailLines.slice(-lines).join('\n');
  }

  /** Resolves once /health/ready has answered as wanted since the last start. */
  async waitFor(what: 'serving' | 'consuming', timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(what === 'serving' ? this.serving : this.consuming)) {
      if (Date.now() > deadline) throw new Error(`${this.name} not ${what} within ${timeoutMs} ms; last output:\n${this.tail()}`);
      await sleep(200);
    }
  }

  private spawnOnce(): void {
    this.starts += 1;
    this.serving = false;
    this.consuming = false;
    this.write(`\n===== start #${this.starts} at ${new Date().toISOString()} =====\n`);
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, this.main], {
      cwd: repoRoot(),
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => this.write(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => this.write(chunk.toString()));
    this.exitPromise = new Promise((resolve) => child.on('exit', () => resolve()));
    this.child = child;
  }

  private write(text: string): void {
    this.logFile.write(text);
    this.tailLines.push(...text.split('\n').filter((l) => l.length > 0));
    if (this.tailLines.length > 400) this.tailLines = this.tailLines.slice(-200);
    if (this.verbose) for (const line of text.split('\n').filter(Boolean)) process.stderr.write(`[${this.name}] ${line}\n`);
  }

  private async supervise(): Promise<void> {
    while (this.supervising) {
      this.spawnOnce();
      await this.exitPromise;
      const child = this.child;
      this.serving = false;
      this.consuming = false;
      const expected = this.expectExit;
      this.expectExit = false;
      const [code, signal] = [child?.exitCode ?? null, child?.signalCode ?? null];
      this.write(`===== exited (code ${code}, signal ${signal})${expected ? '' : ' by itself'} at ${new Date().toISOString()} =====\n`);
      if (!expected) this.unexpectedExits.push({ instance: this.name, at: Date.now(), code, signal, tail: this.tail(25) });
      if (!this.supervising) break;
      await sleep(300 + Math.random() * 700);
    }
  }

  private async watchHealth(): Promise<void> {
    let liveFailures = 0;
    let lastLiveCheck = 0;
    while (this.supervising) {
      await sleep(this.serving ? 1000 : 300);
      if (!this.alive || !this.supervising) continue;
      const child = this.child;
      try {
        const response = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
        const body = (await response.json().catch(() => ({}))) as Readiness;
        if (this.child !== child || !this.alive) continue;
        const wasServing = this.serving;
        this.serving = response.status === 200;
        this.consuming = this.serving && body.status === 'up';
        if (this.serving && !wasServing) this.onServing?.(this);
      } catch {
        if (this.child === child) {
          this.serving = false;
          this.consuming = false;
        }
      }
      if (Date.now() - lastLiveCheck < 3000 || !this.serving) continue;
      lastLiveCheck = Date.now();
      try {
        const live = await fetch(`${this.url}/health/live`, { signal: AbortSignal.timeout(5000) });
        liveFailures = live.status === 503 ? liveFailures + 1 : 0;
      } catch {
        liveFailures = 0;
      }
      if (liveFailures >= 3 && this.alive && this.child === child) {
        // What Kubernetes' liveness probe does: a use case crashed for good, restart the process.
        liveFailures = 0;
        this.livenessRestarts += 1;
        this.write(`===== /health/live answered 503 three times: restarting =====\n`);
        this.expectExit = true;
        this.child?.kill('SIGTERM');
        const timer = setTimeout(() => child?.kill('SIGKILL'), 20_000);
        await this.exitPromise;
        clearTimeout(timer);
      }
    }
  }
}

/** Every service of tools/platform/services.json on a private broker and a private PostgreSQL cluster. */
export class ChaosPlatform {
  readonly namespace = `chaos-${Date.now().toString(36)}`;
  /** The services verify bearer tokens with a secret of this run; the workload and the observer use these. */
  readonly tokens = new TestTokens(undefined, 'platform-chaos', 'platform');
  kafka!: PrivateKafka;
  postgres!: PrivatePostgres;
  readonly instances: ServiceInstance[] = [];
  readonly databases = new Map<string, ServiceDatabaseInfo>();
  readonly services = platformServices().map((s) => s.name);
  private readonly ports = new Set<number>();
  /** When the build the run uses was made (newest dist/apps/<service>/main.js at the start). */
  builtAt?: Date;

  constructor(private readonly options: PlatformOptions) {}

  get brokers(): string[] {
    return this.kafka.brokers;
  }

  instancesOf(service: string): ServiceInstance[] {
    return this.instances.filter((i) => i.service === service);
  }

  /** A serving instance of the service (any when none serves): where a client would be routed. */
  route(service: string, pick: (n: number) => number): ServiceInstance {
    const all = this.instancesOf(service);
    const serving = all.filter((i) => i.serving);
    const from = serving.length > 0 ? serving : all;
    return from[pick(from.length)];
  }

  /** A superuser connection string to one service's database (for the harness's own checks). */
  adminUrlOf(service: string): string {
    return this.postgres.url(this.databaseOf(service));
  }

  databaseOf(service: string): string {
    const db = this.databases.get(service);
    if (!db) throw new Error(`no database for ${service}`);
    return db.database;
  }

  async start(): Promise<void> {
    const { runDir, log } = this.options;
    mkdirSync(path.join(runDir, 'logs'), { recursive: true });

    // Plain listener, controller and SASL_SSL listener: three ports in a row.
    this.kafka = new PrivateKafka(await stablePort(3, this.ports));
    this.postgres = new PrivatePostgres(await stablePort(1, this.ports), { parentDir: runDir });
    log(`starting a private Kafka broker on ${this.kafka.brokers[0]} and a private PostgreSQL cluster on 127.0.0.1:${this.postgres.port} (${this.postgres.dataDir})`);
    await Promise.all([this.kafka.start(), this.postgres.start()]);

    const snapshot = this.snapshotBuild();
    for (const service of this.services) {
      const database = `chaos_${service}`;
      const db = await provisionServiceDatabase(
        { database, runtime: { role: `${service}_svc`, password: `${service}_svc` }, migrator: { role: `${service}_migrator`, password: `${service}_migrator` } },
        this.postgres.adminUrl,
      );
      this.databases.set(service, { service, database, url: db.url });
      for (let index = 1; index <= (this.options.instances[service] ?? 1); index++) {
        const port = await stablePort(1, this.ports);
        const url = new URL(db.url);
        url.searchParams.set('application_name', `chaos-${service}-${index}`);
        const env = cleanEnv({
          PORT: String(port),
          DATABASE_URL: url.toString(),
          MIGRATION_DATABASE_URL: db.migrationUrl,
          KAFKA_BROKERS: this.kafka.brokers.join(','),
          KAFKA_NAMESPACE: this.namespace,
          KAFKA_SESSION_TIMEOUT_MS: '6000',
          SHUTDOWN_TIMEOUT_MS: '15000',
          LOG_LEVEL: this.options.logLevel ?? 'info',
          ...this.tokens.serviceEnv(),
        });
        this.instances.push(new ServiceInstance(service, index, port, path.join(snapshot, service, 'main.js'), env, path.join(runDir, 'logs'), this.options.verbose));
      }
    }
    for (const instance of this.instances) instance.start();
    await Promise.all(this.instances.map((i) => i.waitFor('consuming', 180_000)));
    await this.checkApplicationNames();
    log(`${this.instances.length} service processes ready: ${this.instances.map((i) => `${i.name} :${i.port}`).join(', ')}; logs in ${path.join(runDir, 'logs')}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.stop().catch(() => undefined)));
    if (this.kafka) {
      await this.kafka.destroy().catch(() => undefined);
      // Keep the broker's log with the run's logs; the broker's state directory goes.
      const stateDir = path.join(repoRoot(), '.kafka', `private-${this.kafka.port}`);
      if (existsSync(path.join(stateDir, 'broker.log'))) cpSync(path.join(stateDir, 'broker.log'), path.join(this.options.runDir, 'logs', 'kafka.log'));
      rmSync(stateDir, { recursive: true, force: true });
    }
    // The build snapshot is no evidence: only the logs stay.
    rmSync(path.join(this.options.runDir, 'dist'), { recursive: true, force: true });
    try {
      unlinkSync(path.join(this.options.runDir, 'node_modules')); // the link only, never what it points to
    } catch {
      // not made
    }
    if (this.postgres) {
      if (existsSync(this.postgres.logFile)) cpSync(this.postgres.logFile, path.join(this.options.runDir, 'logs', 'postgres.log'));
      await this.postgres.destroy().catch(() => undefined);
    }
  }

  /** Copies dist/apps/<service> into the run directory; their packages resolve through a node_modules link. */
  private snapshotBuild(): string {
    const target = path.join(this.options.runDir, 'dist');
    for (const service of this.services) {
      const source = path.join(repoRoot(), 'dist/apps', service);
      if (!existsSync(path.join(source, 'main.js'))) {
        throw new Error(`${source}/main.js is missing: build first (NX_DAEMON=false npx nx run-many -t build -p ${this.services.join(' ')})`);
      }
      cpSync(source, path.join(target, service), { recursive: true });
      const built = statSync(path.join(source, 'main.js')).mtime;
      if (!this.builtAt || built > this.builtAt) this.builtAt = built;
    }
    const modules = path.join(this.options.runDir, 'node_modules');
    if (!existsSync(modules)) symlinkSync(path.join(repoRoot(), 'node_modules'), modules, 'dir');
    return target;
  }

  /** The relay-leader fault tells instances apart by application_name: check the services keep ours. */
  private async checkApplicationNames(): Promise<void> {
    const client = new Client({ connectionString: this.postgres.adminUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ application_name: string }>('SELECT DISTINCT application_name FROM pg_stat_activity');
      const seen = new Set(rows.map((r) => r.application_name));
      const missing = this.instances.filter((i) => !seen.has(i.applicationName)).map((i) => i.applicationName);
      if (missing.length > 0) throw new Error(`no database session carries application_name ${missing.join(', ')}: the relay leader cannot be found`);
    } finally {
      await client.end();
    }
  }
}

/** The environment of a service process: ours, without anything that would point it elsewhere. */
function cleanEnv(own: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(KAFKA_|DATABASE_|PG|TEST_DATABASE_URL$|PORT$|NODE_OPTIONS$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...own };
}
