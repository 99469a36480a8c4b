/// <reference types="jest" />
import { adminDatabaseUrl, dropDatabase, ensureKafka, eventually, freePort, provisionServiceDatabase, SERVICE_NODE_FLAGS, uniqueName, type ReadinessBody } from '@platform/testing';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { REPO_ROOT } from '../../deploy/paths';

/**
 * Every generator, run the way a team runs it (`npx nx g @platform/tools:...`) in one scratch copy
 * of this workspace, and the result held to what the repository itself is held to: lint,
 * typecheck, unit tests and build of what they generated or changed, the drift checks of the
 * AsyncAPI document and the manifests, the compatibility check, and the generated service
 * started from its build output on a database provisioned as npm start does (both roles).
 */
const SERVICE = 'billing';
const PORT = 3905;
const ENV = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true', NX_TUI: 'false', FORCE_COLOR: '0' };

let scratch: string;

/** The files git knows (committed or not yet, ignored ones excepted), as they are in the working tree. */
function copyWorkspace(to: string): void {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' });
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const from = path.join(REPO_ROOT, file);
    let stat;
    try {
      stat = statSync(from);
    } catch {
      continue; // deleted in the working tree
    }
    if (!stat.isFile()) continue;
    mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    copyFileSync(from, path.join(to, file));
    chmodSync(path.join(to, file), stat.mode);
  }
}

/** node_modules of links to this workspace's packages, with @platform/* pointing into the copy, so that the copy resolves its own code. */
function linkNodeModules(to: string): void {
  const source = path.join(REPO_ROOT, 'node_modules');
  const target = path.join(to, 'node_modules');
  mkdirSync(path.join(target, '@platform'), { recursive: true });
  for (const entry of readdirSync(source)) {
    if (entry === '@platform' || entry === '.cache') continue;
    symlinkSync(realpathSync(path.join(source, entry)), path.join(target, entry));
  }
  for (const entry of readdirSync(path.join(source, '@platform'))) {
    const inWorkspace = path.relative(realpathSync(REPO_ROOT), realpathSync(path.join(source, '@platform', entry)));
    symlinkSync(path.join(to, inWorkspace), path.join(target, '@platform', entry));
  }
  symlinkSync(path.join(to, 'apps', SERVICE), path.join(target, '@platform', SERVICE));
}

/** Runs a command in the scratch copy; the result carries its output so that a failure shows why. */
function run(command: string, args: string[]): { command: string; status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: scratch, env: ENV, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  return { command: `${command} ${args.join(' ')}`, status: result.status, output: result.status === 0 ? '' : output.slice(-6000) };
}
const nx = (...args: string[]) => run(path.join(scratch, 'node_modules/.bin/nx'), args);
const succeeded = (command: string) => ({ command, status: 0, output: '' });
const read = (file: string) => readFileSync(path.join(scratch, file), 'utf8');

describe('nx g @platform/tools:service | event | use-case | saga', () => {
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'platform-generators-'));
    copyWorkspace(scratch);
    linkNodeModules(scratch);
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('generates a service, an event in two versions, a use case and a saga', () => {
    for (const generated of [
      nx('g', '@platform/tools:service', SERVICE, '--port', String(PORT)),
      nx('g', '@platform/tools:event', 'invoice-issued', '--service', SERVICE),
      nx('g', '@platform/tools:event', 'invoice-issued', '--service', SERVICE, '--eventVersion', '2'),
      nx('g', '@platform/tools:use-case', 'record-invoice', '--service', SERVICE, '--event', 'InvoiceIssued'),
      nx('g', '@platform/tools:saga', 'invoice-follow-up', '--service', SERVICE, '--event', 'InvoiceIssuedV2'),
    ]) {
      expect(generated).toEqual(succeeded(generated.command));
    }
    expect(JSON.parse(read('tools/platform/services.json')).services).toContainEqual({ name: SERVICE, port: PORT });
    const declaration = read(`apps/${SERVICE}/src/service.declaration.ts`);
    expect(declaration).toMatch(/publishes: \[InvoiceIssued, InvoiceIssuedV2\]/);
    expect(declaration).toMatch(/useCases: \[RecordInvoiceUseCase, InvoiceFollowUpSaga\]/);
    expect(read('libs/contracts/src/registry.ts')).toMatch(/InvoiceIssued,\n\s+InvoiceIssuedV2,\n\]\);/);
    // Derived per service by tools/deploy, regenerated by the generators.
    expect(read(`k8s/generated/${SERVICE}/kafka-topics.yaml`)).toContain(`name: ${SERVICE}.invoice-issued.v2`);
    expect(read('docker/generated/init-databases.sql')).toContain(`CREATE DATABASE platform_${SERVICE} OWNER ${SERVICE}_migrator;`);
    expect(read(`k8s/overlays/prod/${SERVICE}/kustomization.yaml`)).toContain(`../../../base/${SERVICE}`);
    expect(read('libs/contracts/asyncapi.yaml')).toContain(`${SERVICE}.invoice-follow-up`);
  }, 300_000);

  it('refuses a service whose port the catalog already gives another, and an event no registry lists', () => {
    const clash = nx('g', '@platform/tools:service', 'ledger', '--port', '3001');
    expect(clash.status).not.toBe(0);
    expect(clash.output).toContain('already has users:3001');
    const unknown = nx('g', '@platform/tools:use-case', 'audit', '--service', SERVICE, '--event', 'NoSuchEvent');
    expect(unknown.status).not.toBe(0);
    expect(unknown.output).toContain('NoSuchEvent is not in EVENT_REGISTRY');
  }, 120_000);

  it('leaves the generated and changed projects passing lint, typecheck, test and build', () => {
    const checked = nx('run-many', '-t', 'lint', 'typecheck', 'test', 'build', '-p', `${SERVICE},contracts,console`, '--parallel=1');
    expect(checked).toEqual(succeeded(checked.command));
  }, 900_000);

  it('leaves the AsyncAPI document, the manifests and compose in step with the code, and the contracts compatible', () => {
    const specs = [
      'deploy/test/generated-files.unit.spec.ts',
      'deploy/test/compose.unit.spec.ts',
      'deploy/test/dockerfile.unit.spec.ts',
      'deploy/test/kustomize-overlays.int.spec.ts',
      'deploy/test/kafka-acls.unit.spec.ts',
      'asyncapi/test/asyncapi-document.unit.spec.ts',
    ];
    const drift = run(path.join(scratch, 'node_modules/.bin/jest'), ['-c', 'tools/jest.config.js', ...specs]);
    expect(drift).toEqual(succeeded(drift.command));
    const compat = nx('run', 'contracts:compat');
    expect(compat).toEqual(succeeded(compat.command));
  }, 300_000);

  describe('the generated service, started from its build output', () => {
    const roles = { runtime: uniqueName('gen_svc'), migrator: uniqueName('gen_mig') };
    const database = uniqueName('t_gen');
    const namespace = uniqueName('gen').replace(/_/g, '-');
    let child: ChildProcess | undefined;
    let log = '';

    afterAll(async () => {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await dropDatabase(database).catch(() => undefined);
      const admin = new Client({ connectionString: adminDatabaseUrl() });
      await admin.connect();
      for (const role of [roles.runtime, roles.migrator]) await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
      const kafka = new Kafka({ brokers: await ensureKafka(), logLevel: logLevel.NOTHING }).admin();
      await kafka.connect();
      const topics = (await kafka.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
      if (topics.length > 0) await kafka.deleteTopics({ topics });
      await kafka.disconnect();
    }, 60_000);

    it('is ready: /health/ready answers 200 with its database migrated and its use case and saga consuming', async () => {
      const db = await provisionServiceDatabase({ database, runtime: { role: roles.runtime, password: roles.runtime }, migrator: { role: roles.migrator, password: `${roles.migrator}_m` } });
      const port = await freePort();
      child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, path.join(scratch, `dist/apps/${SERVICE}/main.js`)], {
        cwd: scratch,
        env: { ...process.env, PORT: String(port), DATABASE_URL: db.url, MIGRATION_DATABASE_URL: db.migrationUrl, KAFKA_BROKERS: (await ensureKafka()).join(','), KAFKA_NAMESPACE: namespace },
      });
      child.stdout!.on('data', (chunk) => (log += chunk));
      child.stderr!.on('data', (chunk) => (log += chunk));
      const ready = await eventually(
        async () => {
          if (child!.exitCode !== null) throw new Error(`${SERVICE} exited with ${child!.exitCode}:\n${log.slice(-4000)}`);
          const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
          const body = (await response.json()) as ReadinessBody;
          if (response.status !== 200 || body.checks.useCases.some((u) => u.status !== 'running')) throw new Error(`not ready: ${response.status} ${JSON.stringify(body)}`);
          return { status: response.status, body };
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(ready.status).toBe(200);
      expect(ready.body.checks.migrations.status).toBe('up');
      expect(ready.body.checks.useCases.map((u) => u.groupId).sort()).toEqual([`${namespace}.${SERVICE}.invoice-follow-up`, `${namespace}.${SERVICE}.record-invoice`]);
      const tables = new Client({ connectionString: db.migrationUrl });
      await tables.connect();
      const { rows } = await tables.query<{ owner: string }>("SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'record_invoice_events'");
      await tables.end();
      expect(rows).toEqual([{ owner: roles.migrator }]);
    }, 120_000);
  });
});
