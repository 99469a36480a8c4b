#!/usr/bin/env node
// `npm start`: brings the whole platform up on this machine and keeps it running.
//   1. installs dependencies when node_modules is missing or older than package-lock.json
//   2. fetches and starts the Kafka broker (tools/kafka), unless KAFKA_BROKERS points elsewhere
//   3. checks PostgreSQL (DATABASE_URL, an admin connection) and starts a local cluster if it can
//   4. builds the four services (Nx, cached)
//   5. creates one database and two roles per service (<service>_migrator runs the migrations, <service>_svc the service)
//   6. starts the services, waits until each is ready, prints their URLs
//   7. starts the console (apps/console) on :3000 with an operator token (CONSOLE_TOKEN, or a new one it prints)
// `npm run demo` (or `npm start -- --demo`) then drives a scripted scenario over HTTP, prints
// what each service did, stops the services and exits.
//
// Plain Node without dependencies: it is what installs them.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const runDir = path.join(root, '.run');
const demo = process.argv.includes('--demo');
const env = { ...process.env, NX_DAEMON: process.env.NX_DAEMON ?? 'false', NX_NO_CLOUD: 'true' };
/** The V8 flags every service runs with, as in its image (libs/testing/src/service-node-flags.ts says why). */
const serviceNodeFlags = JSON.parse(fs.readFileSync(path.join(root, 'tools/node/service-node-flags.json'), 'utf8'));
const adminUrl = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const { services, console: consoleApp } = JSON.parse(fs.readFileSync(path.join(root, 'tools/platform/services.json'), 'utf8'));
const colors = { users: 36, endpoints: 35, templates: 33, notifications: 32, console: 34 };

const say = (message) => process.stdout.write(`\x1b[1m[platform]\x1b[0m ${message}\n`);
const fail = (message) => {
  process.stderr.write(`\x1b[31m[platform] ${message}\x1b[0m\n`);
  process.exit(1);
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit', ...options });
  if (result.error) fail(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status}`);
  return result;
}

function installDependencies() {
  const lock = path.join(root, 'package-lock.json');
  const installed = path.join(root, 'node_modules/.package-lock.json');
  if (fs.existsSync(installed) && fs.statSync(installed).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  // npm install rather than npm ci: see .ci/run (the lockfile lacks sass-embedded's platform packages).
  say('installing dependencies (npm install, from the lockfile)…');
  run('npm', ['install', '--no-audit', '--no-fund']);
}

function answers(host, port, timeoutMs = 1500) {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('connect', () => done(true));
    socket.on('error', () => done(false));
  });
}

async function ensurePostgres() {
  const url = new URL(adminUrl);
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 5432);
  if (await answers(host, port)) return;
  const clusters = fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql') : [];
  if (clusters.length > 0 && ['127.0.0.1', 'localhost'].includes(host)) {
    say(`PostgreSQL does not answer on ${host}:${port}; starting the local cluster ${clusters[0]}/main`);
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', clusters[0], 'main', 'start'], { stdio: 'inherit' });
    for (let i = 0; i < 30 && !(await answers(host, port)); i++) await sleep(500);
    if (await answers(host, port)) return;
  }
  fail(`PostgreSQL does not answer on ${host}:${port}. Install PostgreSQL 15+ or set DATABASE_URL to a server where this user may create roles and databases.`);
}

function provision() {
  say('creating one database and two roles (migrator, runtime) per service…');
  const result = spawnSync('npx', ['tsx', '--tsconfig', 'tsconfig.base.json', 'tools/platform/provision.ts'], {
    cwd: root,
    env: { ...env, DATABASE_URL: adminUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) fail('database provisioning failed');
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

/** A development token per demo user and one operator token (tools/platform/dev-tokens.ts). */
function developmentTokens() {
  const result = spawnSync('npx', ['tsx', '--tsconfig', 'tsconfig.base.json', 'tools/platform/dev-tokens.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) fail('could not mint the development tokens');
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

function startService(service, extraEnv) {
  const port = Number(env[`${service.name.toUpperCase()}_PORT`] ?? service.port);
  const logFile = fs.createWriteStream(path.join(runDir, `${service.name}.log`));
  const child = spawn(process.execPath, [...serviceNodeFlags, path.join(root, 'dist/apps', service.name, 'main.js')], {
    cwd: root,
    env: { ...env, PORT: String(port), KAFKA_BROKERS: env.KAFKA_BROKERS ?? '127.0.0.1:9092', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[${colors[service.name] ?? 37}m[${service.name}]\x1b[0m `;
  let tailLines = [];
  const onData = (chunk) => {
    logFile.write(chunk);
    const lines = chunk.toString().split('\n').filter(Boolean);
    tailLines = [...tailLines, ...lines].slice(-30);
    if (!demo || env.DEMO_VERBOSE) for (const line of lines) process.stdout.write(prefix + line + '\n');
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return { ...service, port, child, url: `http://127.0.0.1:${port}`, tail: () => tailLines.join('\n'), exited: false };
}

async function waitReady(running) {
  const deadline = Date.now() + 120_000;
  for (const service of running) {
    let last = 'no answer';
    for (;;) {
      if (service.exited) fail(`${service.name} exited during start-up:\n${service.tail()}`);
      try {
        // 200 means the API serves; 'up' (not 'degraded') means Kafka answers and every use case consumes.
        const response = await fetch(`${service.url}/health/ready`);
        const body = await response.json().catch(() => undefined);
        if (response.ok && body?.status === 'up') break;
        last = `${response.status} ${JSON.stringify(body)}`;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) fail(`${service.name} was not ready within 120 s (last /health/ready: ${last}):\n${service.tail()}`);
      await sleep(300);
    }
  }
}

async function stopAll(running) {
  for (const service of running) if (!service.exited) service.child.kill('SIGTERM');
  const deadline = Date.now() + 30_000;
  while (running.some((s) => !s.exited) && Date.now() < deadline) await sleep(100);
  for (const service of running) if (!service.exited) service.child.kill('SIGKILL');
}

async function main() {
  installDependencies();
  run(process.execPath, ['tools/kafka/kafka.mjs', 'start']);
  await ensurePostgres();
  say('building the services (Nx, cached)…');
  run('npx', ['nx', 'run-many', '-t', 'build', '-p', [...services, consoleApp].map((s) => s.name).join(','), '--output-style=static']);
  const urls = provision();
  fs.mkdirSync(runDir, { recursive: true });
  const running = services.map((service) => startService(service, { DATABASE_URL: urls[service.name].url, MIGRATION_DATABASE_URL: urls[service.name].migrationUrl }));
  let stopping = false;
  for (const service of running) {
    service.child.on('exit', (code, signal) => {
      service.exited = true;
      if (!stopping) say(`${service.name} exited (${signal ?? code})`);
    });
  }
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping the services…');
    await stopAll(running);
    say('stopped. Kafka keeps running: `npm run kafka:stop` stops it.');
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  await waitReady(running);
  say('the platform is up:');
  for (const s of running) say(`  ${s.name.padEnd(14)} ${s.url}   OpenAPI ${s.url}/docs   logs .run/${s.name}.log`);
  if (!demo && !env.AUTH_JWT_SECRET && !env.AUTH_JWKS_URL) {
    // No AUTH_* variable: the services verify tokens signed with the development secret.
    const tokens = developmentTokens();
    say('development tokens (valid 30 days; a user registers with their own: the id is the token\'s subject):');
    say(`  operator       ${tokens.operator}`);
    for (const user of tokens.users) say(`  ${user.name.padEnd(14)} ${user.token}   (user ${user.id})`);
    const users = running.find((s) => s.name === 'users');
    say(`  e.g. curl -X POST ${users.url}/users -H "Authorization: Bearer $ADA_TOKEN" -H 'content-type: application/json' -d '{"email":"ada@example.com","displayName":"Ada"}'`);
  }
  if (!demo) {
    // The console reads the services over HTTP: it is told where each one runs. It inherits their
    // AUTH_* variables (none: the development secret) and signs its operator calls with them.
    const token = env.CONSOLE_TOKEN ?? randomBytes(32).toString('hex');
    const consoleRun = startService(consoleApp, { CONSOLE_TOKEN: token, ...Object.fromEntries(running.map((s) => [`${s.name.toUpperCase()}_URL`, s.url])) });
    consoleRun.child.on('exit', (code, signal) => {
      consoleRun.exited = true;
      if (!stopping) say(`console exited (${signal ?? code})`);
    });
    running.push(consoleRun);
    await waitReady([consoleRun]);
    say(`  ${'console'.padEnd(14)} ${consoleRun.url}   operator token (redrive, rebuild): ${token}${env.CONSOLE_TOKEN ? ' (CONSOLE_TOKEN)' : ' (generated for this run)'}`);
  }

  if (demo) {
    const result = spawnSync('npx', ['tsx', '--tsconfig', 'tsconfig.base.json', 'tools/platform/demo.ts'], {
      cwd: root,
      env: { ...env, ...Object.fromEntries(running.map((s) => [`${s.name.toUpperCase()}_URL`, s.url])) },
      stdio: 'inherit',
    });
    stopping = true;
    await stopAll(running);
    process.exit(result.status ?? 1);
  }
  say('press Ctrl-C to stop.');
}

main().catch((error) => fail(error.stack ?? String(error)));
