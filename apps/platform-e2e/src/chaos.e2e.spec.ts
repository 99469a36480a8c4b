import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '@platform/testing';

/**
 * The chaos run of `npm run chaos` (tools/chaos), as part of `npm test`: the four services
 * (users and notifications twice) on a Kafka broker and a PostgreSQL cluster of their own,
 * an HTTP workload, and for CHAOS_MINUTES (default 3) a random fault every few seconds —
 * SIGKILL of a service process, broker stop/start, PostgreSQL restart (fast or immediate),
 * the outbox relay leader killed or disconnected — then a bounded settle and the
 * reconciliation: every 2xx write's event in Kafka, every effect exactly once, every window
 * digested once, everything drained, every dead-letter topic empty.
 *
 * It runs as a child process (the same code as `npm run chaos`, the figures printed as it
 * goes); the services are built by this project's e2e dependencies. CHAOS_SEED replays a
 * fault sequence; CHAOS_FAULT_EVERY_MS changes the fault rate.
 */
const MINUTES = Number(process.env['CHAOS_MINUTES'] ?? 3);
const FAULT_EVERY_MS = Number(process.env['CHAOS_FAULT_EVERY_MS'] ?? 5000);
/** At least one fault per 12 s on average (a fault is due every ~5 s; some wait for the previous one to be undone). */
const MIN_FAULTS = Math.max(1, Math.floor((MINUTES * 60) / 18));
// Start-up (~1 min), the faults, the settle (≤ 120 s), reading back, stopping: generous.
jest.setTimeout((MINUTES * 60 + 15 * 60) * 1000);

interface Summary {
  ok: boolean;
  seed: number;
  faults: number;
  faultsByKind: Record<string, number>;
  requests: { ok: number; other: number };
  events: { distinct: number };
  lost: number;
  duplicated: number;
  inconsistent: number;
  undrained: number;
  deadLetters: number;
  byCheck: Record<string, number>;
  findings: { verdict: string; check: string; subject: string; detail: string }[];
  deadLetterSamples: Record<string, string>[];
}

function runChaos(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const tsx = path.join(repoRoot(), 'node_modules/tsx/dist/cli.mjs');
    const child = spawn(process.execPath, [tsx, '--tsconfig', 'tsconfig.base.json', 'tools/chaos/chaos.ts', ...args], { cwd: repoRoot(), stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

describe(`chaos: ${MINUTES} min of random faults under an HTTP workload across the four services`, () => {
  it('loses nothing, duplicates nothing, drains, and leaves every dead-letter topic empty', async () => {
    const json = path.join(tmpdir(), `chaos-e2e-${process.pid}-${Date.now()}.json`);
    const seed = process.env['CHAOS_SEED'];
    const code = await runChaos(['--minutes', String(MINUTES), '--fault-every-ms', String(FAULT_EVERY_MS), '--no-build', '--json', json, ...(seed ? ['--seed', seed] : [])]);
    expect(existsSync(json)).toBe(true); // exit code 2 (no summary): the run itself failed, see its output
    const summary = JSON.parse(readFileSync(json, 'utf8')) as Summary;
    rmSync(json, { force: true });

    // What went wrong, if anything, in the failure message (the figures are printed above).
    const problems = { byCheck: summary.byCheck, firstFindings: summary.findings.slice(0, 10), deadLetters: summary.deadLetterSamples.slice(0, 5) };
    expect({ lost: summary.lost, duplicated: summary.duplicated, inconsistent: summary.inconsistent, undrained: summary.undrained, deadLetters: summary.deadLetters, problems }).toEqual({
      lost: 0,
      duplicated: 0,
      inconsistent: 0,
      undrained: 0,
      deadLetters: 0,
      problems: { byCheck: {}, firstFindings: [], deadLetters: [] },
    });
    expect(summary.faults).toBeGreaterThanOrEqual(MIN_FAULTS);
    expect(summary.faultsByKind['kill']).toBeGreaterThanOrEqual(1);
    expect(summary.requests.ok).toBeGreaterThan(MINUTES * 60);
    expect(summary.events.distinct).toBeGreaterThan(MINUTES * 60);
    expect(code).toBe(0);
  });
});
