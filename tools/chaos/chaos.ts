/**
 * `npm run chaos -- --minutes N`: the four services under an HTTP workload while faults are
 * injected at random (SIGKILL of a service process, broker stop/start, PostgreSQL restart,
 * outbox relay leader killed or disconnected), on a Kafka broker and a PostgreSQL cluster of
 * the run's own; then a reconciliation. Prints the figures; exits 1 when anything was lost,
 * duplicated or inconsistent or a dead-letter topic is not empty, 2 when the run itself failed.
 *
 *   --minutes N            faults and workload for N minutes (default 3)
 *   --seed S               replay a run's fault sequence (printed at the start)
 *   --fault-every-ms MS    mean time between faults (default 5000)
 *   --weights k=w,...      fault weights: kill, relay, broker, postgres (default kill=4,relay=2,broker=1,postgres=1.5)
 *   --clients N            concurrent HTTP clients (default 3)
 *   --pause-ms MS          mean pause between a client's requests (default 400)
 *   --request-timeout-ms   (default 10000)
 *   --settle-seconds S     bound on the drain after the faults stop (default 120)
 *   --instances s=n,...    processes per service (default users=2,notifications=2, others 1)
 *   --no-build             do not build the services first
 *   --json PATH            also write the summary there
 *   --log-level L          LOG_LEVEL of the services: debug|info|warn|error (default debug: the logs are the evidence)
 *   --verbose              service output on stderr (also E2E_VERBOSE=1)
 *   --keep-on-failure      a failed run leaves the platform running for inspection until Ctrl-C
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { platformServices, repoRoot } from '@platform/testing';
import type { FaultKind } from './faults';
import { newSeed } from './rng';
import { describeCounts, runChaos, type ChaosOptions, type ChaosSummary } from './run';

function parseArgs(argv: readonly string[]): ChaosOptions & { build: boolean; json?: string } {
  const args = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const [name, inline] = arg.slice(2).split('=', 2);
    if (['no-build', 'verbose', 'keep-on-failure'].includes(name)) flags.add(name);
    else if (inline !== undefined) args.set(name, inline);
    else if (i + 1 < argv.length) args.set(name, argv[++i]);
    else throw new Error(`--${name} needs a value`);
  }
  const known = ['minutes', 'seed', 'fault-every-ms', 'weights', 'clients', 'pause-ms', 'request-timeout-ms', 'settle-seconds', 'instances', 'json', 'log-level'];
  for (const name of args.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name}`);
  const num = (name: string, fallback: number) => {
    const raw = args.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number (got "${raw}")`);
    return value;
  };
  const pairs = (raw: string | undefined): Record<string, number> =>
    Object.fromEntries(
      (raw ?? '')
        .split(',')
        .filter(Boolean)
        .map((p) => {
          const [k, v] = p.split('=');
          if (!k || v === undefined || !Number.isFinite(Number(v))) throw new Error(`expected name=number, got "${p}"`);
          return [k.trim(), Number(v)];
        }),
    );
  const weights = { kill: 4, relay: 2, broker: 1, postgres: 1.5, ...pairs(args.get('weights')) } as Record<FaultKind, number>;
  for (const k of Object.keys(weights)) if (!['kill', 'relay', 'broker', 'postgres'].includes(k)) throw new Error(`unknown fault kind "${k}" in --weights`);
  const services = platformServices().map((s) => s.name);
  const instances = { users: 2, notifications: 2, ...pairs(args.get('instances')) };
  for (const s of Object.keys(instances)) if (!services.includes(s)) throw new Error(`unknown service "${s}" in --instances`);
  const seed = Math.floor(num('seed', newSeed()));
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return {
    minutes: num('minutes', 3),
    seed,
    faultEveryMs: num('fault-every-ms', 5000),
    weights,
    clients: Math.max(1, Math.floor(num('clients', 3))),
    pauseMs: num('pause-ms', 400),
    requestTimeoutMs: num('request-timeout-ms', 10_000),
    settleSeconds: num('settle-seconds', 120),
    instances,
    runDir: path.join(tmpdir(), `chaos-${stamp}-${seed}`),
    verbose: flags.has('verbose') || Boolean(process.env['E2E_VERBOSE']),
    logLevel: args.get('log-level') ?? 'debug',
    keepOnFailure: flags.has('keep-on-failure'),
    build: !flags.has('no-build'),
    json: args.get('json'),
  };
}

const log = (line: string) => process.stdout.write(`[chaos] ${line}\n`);

function printSummary(s: ChaosSummary, options: ChaosOptions): void {
  const secs = (ms: number) => `${Math.floor(ms / 60_000)}m ${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
  const variants = s.faultsByVariant;
  const kills = Object.entries(variants).filter(([k]) => k.startsWith('kill '));
  const line = (label: string, value: string) => process.stdout.write(`  ${label.padEnd(20)} ${value}\n`);
  process.stdout.write('\n[chaos] ===== figures =====\n');
  line('seed', `${s.seed}   (replay: npm run chaos -- --minutes ${options.minutes} --seed ${s.seed}${options.faultEveryMs !== 5000 ? ` --fault-every-ms ${options.faultEveryMs}` : ''})`);
  line('elapsed', `${secs(s.elapsedMs)} in all: faults and workload ${secs(s.faultPhaseMs)}, settle ${secs(s.settleMs)}${s.drained ? '' : ' (NOT drained)'}`);
  line(
    'faults injected',
    `${s.faults}: service SIGKILL ${kills.reduce((n, [, v]) => n + v, 0)} (${kills.map(([k, v]) => `${k.slice(5)} ${v}`).join(', ')}); ` +
      `relay leader ${s.faultsByKind['relay'] ?? 0} (SIGKILL ${variants['relay leader SIGKILL'] ?? 0}, connection terminated ${variants['relay leader connection terminated'] ?? 0}); ` +
      `broker stop ${s.faultsByKind['broker'] ?? 0}; postgres restart ${s.faultsByKind['postgres'] ?? 0} (fast ${variants['postgres fast'] ?? 0}, immediate ${variants['postgres immediate'] ?? 0})`,
  );
  const other = Object.entries(s.requests.byOutcome).filter(([k]) => k !== '2xx');
  line('requests', `${s.requests.ok} 2xx / ${s.requests.other} other (${describeCounts(Object.fromEntries(other))})`);
  line('2xx writes', describeCounts(s.requests.okByAction));
  line('events', `${s.events.distinct} distinct in Kafka (${describeCounts(s.events.byTopic)}); ${s.events.resent} re-sent copies (at-least-once, same ce_id)`);
  line(
    'effects',
    `welcomes ${s.effects.welcomes}, audit rows ${s.effects.auditRows}, digests ${s.effects.digests} holding ${s.effects.eventsInDigests} events (${s.effects.windowsHandled} windows handled), NotificationSent ${s.effects.notificationsSent}`,
  );
  line('lost', String(s.lost));
  line('duplicated', String(s.duplicated));
  line('inconsistent', String(s.inconsistent));
  line('undrained', String(s.undrained));
  line('dead letters', `${s.deadLetters}${s.deadLetters ? ` (${describeCounts(s.deadLettersByTopic)})` : ''}`);
  line('processes', `exited by themselves ${s.unexpectedExits.length}; liveness restarts ${s.livenessRestarts}; back serving after SIGKILL: mean ${(s.recoveryMs.mean / 1000).toFixed(1)} s, max ${(s.recoveryMs.max / 1000).toFixed(1)} s`);
  if (s.injectionErrors.length) line('injection errors', `${s.injectionErrors.length}: ${s.injectionErrors.slice(0, 3).join(' | ')}`);
  line('build', s.build);
  line('logs', path.join(s.runDir, 'logs'));
  line('result', s.ok ? 'OK: nothing lost, nothing duplicated, everything drained, every dead-letter topic empty' : 'FAILED');
  if (Object.keys(s.byCheck).length) {
    process.stdout.write('\n[chaos] findings by check:\n');
    for (const [check, n] of Object.entries(s.byCheck)) process.stdout.write(`  ${String(n).padStart(5)}  ${check}\n`);
    process.stdout.write('\n[chaos] first findings:\n');
    for (const f of s.findings.slice(0, 25)) {
      process.stdout.write(`  [${f.verdict}] ${f.check} ${f.subject}: ${f.detail}\n`);
      for (const around of f.faultsAround ?? []) process.stdout.write(`      fault before it: ${around}\n`);
    }
  }
  if (s.deadLetterSamples.length) {
    process.stdout.write('\n[chaos] dead letters (first ones):\n');
    for (const d of s.deadLetterSamples.slice(0, 10)) process.stdout.write(`  ${JSON.stringify(d)}\n`);
  }
  if (Object.values(s.lagging).some((parts) => (parts as unknown[]).length > 0)) {
    process.stdout.write('\n[chaos] partitions still lagging:\n');
    for (const [group, parts] of Object.entries(s.lagging)) for (const p of parts as object[]) process.stdout.write(`  ${group}: ${JSON.stringify(p)}\n`);
  }
  if (s.afterRestart) {
    const a = s.afterRestart;
    process.stdout.write(`\n[chaos] after new traffic on every partition: ${a.afterNewTraffic.length ? `still lagging: ${a.afterNewTraffic.join(', ')}` : 'no lag any more'}`);
    process.stdout.write(`\n[chaos] after a graceful restart of ${a.restarted.join(', ')}: ${a.drained ? 'drained' : `still not drained (${a.detail})`}; ${describeCounts(a.counts)}, dead letters ${a.deadLetters}${Object.keys(a.byCheck).length ? ` (${describeCounts(a.byCheck)})` : ''}\n`);
  }
  if (Object.keys(s.diagnosis).length) process.stdout.write(`\n[chaos] diagnosis (notifications database, per event): see ${path.join(s.runDir, 'summary.json')}\n`);
  if (s.unexpectedExits.length) {
    process.stdout.write('\n[chaos] processes that exited by themselves (first ones, last lines):\n');
    for (const e of s.unexpectedExits.slice(0, 5)) {
      process.stdout.write(`  ${e.instance} at ${new Date(e.at).toISOString()}: code ${e.code} signal ${e.signal}\n${e.tail.split('\n').slice(-8).map((l) => `      ${l}`).join('\n')}\n`);
    }
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  log(`seed ${options.seed}; ${options.minutes} min; a fault every ~${options.faultEveryMs} ms (weights ${describeCounts(options.weights)}); ${options.clients} clients; instances ${describeCounts(options.instances)}; run directory ${options.runDir}`);
  if (options.build) {
    const services = platformServices().map((s) => s.name);
    log(`building ${services.join(', ')} (Nx, cached)`);
    const built = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', ...services, '--output-style=static'], {
      cwd: repoRoot(),
      env: { ...process.env, NX_DAEMON: process.env['NX_DAEMON'] ?? 'false' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (built.status !== 0) throw new Error('the build failed');
  }
  const summary = await runChaos({ ...options, report: (s) => printSummary(s, options) }, log);
  if (options.json) copyFileSync(path.join(options.runDir, 'summary.json'), options.json);
  process.exit(summary.ok ? 0 : 1);
}

main().catch((error: Error) => {
  process.stderr.write(`[chaos] the run itself failed: ${error.stack ?? error.message}\n`);
  process.exit(2);
});
