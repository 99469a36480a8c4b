/**
 * npm run bench -- [suite ...] [--quick]
 * Runs benchmark suites (all when none is named) and prints one JSON line per measurement.
 */
import { spawnSync } from 'node:child_process';
import { SERVICE_NODE_FLAGS } from '@platform/testing';
import { round, type BenchContext, type BenchLine, type BenchSuite } from './bench';

const suites: Record<string, () => Promise<{ default: BenchSuite }>> = {
  messaging: () => import('./suites/messaging'),
  'event-store': () => import('./suites/event-store'),
  sagas: () => import('./suites/sagas'),
  ingest: () => import('./suites/ingest'),
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const named = args.filter((a) => !a.startsWith('--'));
  const unknown = named.filter((n) => !suites[n]);
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite(s): ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}\n`);
    process.exit(2);
  }
  for (const name of named.length > 0 ? named : Object.keys(suites)) {
    const context: BenchContext = {
      quick,
      progress: (message) => process.stderr.write(`[bench ${name}] ${message}\n`),
      record: (metric, value, unit, baseline, target) => {
        const ratio = baseline ? round(baseline.lowerIsBetter ? baseline.value / value : value / baseline.value, 3) : null;
        const goal = target && ('atMost' in target ? { target: `<= ${target.atMost} ${unit}`, pass: value <= target.atMost } : { target: `>= ${target.atLeast} ${unit}`, pass: value >= target.atLeast });
        const line: BenchLine = { suite: name, metric, value: round(value, 3), unit, baseline: baseline?.metric ?? null, ratio, ...goal };
        process.stdout.write(JSON.stringify(line) + '\n');
        return line;
      },
    };
    const started = Date.now();
    const suite = await suites[name]();
    await suite.default(context);
    context.progress(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/**
 * The suites run the libraries in this process as a service runs them: with the V8 flags of the
 * services' image (a young generation a quarter of Node 24's own sizing costs allocation-heavy
 * paths CPU; measured without them, the figures would be of another runtime). Re-run with them
 * when started without.
 */
function withServiceFlags(): boolean {
  if (SERVICE_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) return true;
  const { status } = spawnSync(process.execPath, [...SERVICE_NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(status ?? 1);
}

if (withServiceFlags()) {
  main().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
