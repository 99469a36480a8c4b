/**
 * One chaos run: the platform on a private broker and PostgreSQL cluster, the workload and the
 * faults for the given time, then a bounded settle and the reconciliation.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, sleep } from '@platform/testing';
import { FaultInjector, type FaultKind, type FaultRecord } from './faults';
import { KafkaObserver, diagnoseEvents, drained, observe } from './observe';
import { ChaosPlatform, type ExitRecord } from './platform';
import { failed, reconcile, type Observed, type Reconciliation } from './reconcile';
import { Rng } from './rng';
import { Workload, type Outcome, type WriteRecord } from './workload';

export interface ChaosOptions {
  readonly minutes: number;
  readonly seed: number;
  readonly faultEveryMs: number;
  readonly weights: Readonly<Record<FaultKind, number>>;
  readonly clients: number;
  readonly pauseMs: number;
  readonly requestTimeoutMs: number;
  readonly settleSeconds: number;
  readonly instances: Readonly<Record<string, number>>;
  readonly runDir: string;
  readonly verbose: boolean;
  readonly logLevel: string;
  /** On a failed run, leave the platform running for inspection until Ctrl-C. */
  readonly keepOnFailure?: boolean;
  /** Called with the figures as soon as they are known (before the platform stops). */
  readonly report?: (summary: ChaosSummary) => void;
}

export interface ChaosSummary {
  readonly ok: boolean;
  readonly seed: number;
  readonly minutes: number;
  readonly elapsedMs: number;
  readonly faultPhaseMs: number;
  readonly settleMs: number;
  readonly drained: boolean;
  readonly faults: number;
  readonly faultsByKind: Record<string, number>;
  readonly faultsByVariant: Record<string, number>;
  readonly requests: { readonly ok: number; readonly other: number; readonly byOutcome: Record<Outcome, number>; readonly okByAction: Record<string, number> };
  readonly events: { readonly distinct: number; readonly byTopic: Record<string, number>; readonly resent: number };
  readonly effects: { readonly welcomes: number; readonly auditRows: number; readonly digests: number; readonly eventsInDigests: number; readonly windowsHandled: number; readonly notificationsSent: number };
  readonly lost: number;
  readonly duplicated: number;
  readonly inconsistent: number;
  readonly undrained: number;
  readonly deadLetters: number;
  readonly deadLettersByTopic: Record<string, number>;
  readonly byCheck: Record<string, number>;
  readonly findings: readonly { verdict: string; check: string; subject: string; detail: string; faultsAround?: string[] }[];
  readonly deadLetterSamples: readonly Record<string, string>[];
  readonly unexpectedExits: readonly ExitRecord[];
  readonly livenessRestarts: number;
  readonly recoveryMs: { readonly mean: number; readonly max: number };
  readonly injectionErrors: readonly string[];
  /** Partitions still lagging at the end, per group. */
  readonly lagging: Record<string, unknown>;
  /** The messages around each lagging partition's committed offset. */
  readonly lagHead: Record<string, unknown>;
  /** When the run did not drain: the same reconciliation after a graceful restart of the services concerned. */
  readonly afterRestart?: {
    /** Partitions still lagging after new traffic on every partition (before the restart). */
    readonly afterNewTraffic: string[];
    readonly restarted: string[];
    readonly drained: boolean;
    readonly detail: string;
    readonly counts: Record<string, number>;
    readonly deadLetters: number;
    readonly byCheck: Record<string, number>;
  };
  /** What the notifications database knows of the dead-lettered and unconsumed events. */
  readonly diagnosis: Record<string, unknown>;
  /** When the services' build was made, and the commit (and uncommitted files) of the checkout when the run started. */
  readonly build: string;
  readonly runDir: string;
}

const clock = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

export async function runChaos(options: ChaosOptions, log: (line: string) => void): Promise<ChaosSummary> {
  const started = Date.now();
  const provenance = buildProvenance();
  mkdirSync(options.runDir, { recursive: true });
  const rng = new Rng(options.seed);
  const platform = new ChaosPlatform({ runDir: options.runDir, instances: options.instances, verbose: options.verbose, logLevel: options.logLevel, log });
  const stopOnSignal = () => {
    log('interrupted: stopping the platform');
    platform.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  let kafka: KafkaObserver | undefined;
  let succeeded = false;
  try {
    await platform.start();
    kafka = new KafkaObserver(platform.brokers, platform.namespace);
    const workload = new Workload({ route: (service) => platform.route(service, (n) => Math.floor(Math.random() * n)) }, platform.tokens, rng.fork(2), {
      clients: options.clients,
      pauseMs: options.pauseMs,
      requestTimeoutMs: options.requestTimeoutMs,
      runTag: platform.namespace.replace(/^chaos-/, ''),
    });
    const faults = new FaultInjector(platform, rng.fork(1), { everyMs: options.faultEveryMs, weights: options.weights }, (line) => log(`${clock(Date.now() - phaseStart)} ${line}`));

    const phaseStart = Date.now();
    const phaseEnd = phaseStart + options.minutes * 60_000;
    log(`workload (${options.clients} clients) and faults (one every ~${(options.faultEveryMs / 1000).toFixed(1)} s) for ${options.minutes} min`);
    workload.start();
    faults.start();
    while (Date.now() < phaseEnd) {
      await sleep(Math.min(10_000, phaseEnd - Date.now()));
      const { ok, other } = workload.counts;
      const down = faults.down;
      log(`${clock(Date.now() - phaseStart)} progress: faults ${faults.faults.length} (${describeCounts(countBy(faults.faults, (f) => f.kind))}) | requests 2xx ${ok}, other ${other}${down.length ? ` | down: ${down.join(', ')}` : ''}`);
    }
    log('faults stop: undoing the last ones; workload stops');
    await Promise.all([faults.stop(), workload.stop()]);
    const faultPhaseMs = Date.now() - phaseStart;
    // The workload's requests (the probes of an undrained run come later and are not counted here).
    const requests = workload.writes.slice();

    // Settle: everything up again, then drained, then reconciled (re-read until clean or out of time).
    const settleStart = Date.now();
    const settleDeadline = settleStart + options.settleSeconds * 1000;
    await Promise.all(platform.instances.map((i) => i.waitFor('consuming', Math.max(10_000, settleDeadline - Date.now())).catch((e: Error) => log(e.message.split('\n')[0]))));
    let isDrained = false;
    let lastDetail = '';
    let lastLog = 0;
    let result: Reconciliation | undefined;
    let observed: Observed | undefined;
    while (Date.now() < settleDeadline) {
      const state = await drained(platform, kafka).catch((e: Error) => ({ done: false, detail: `cannot tell yet: ${e.message}` }));
      lastDetail = state.detail;
      if (state.done) {
        isDrained = true;
        observed = await observe(platform, kafka, workload);
        result = reconcile(observed);
        if (!failed(result)) break;
        log(`settle ${clock(Date.now() - settleStart)}: drained, but ${result.counts.lost} lost / ${result.counts.duplicated} duplicated / ${result.counts.inconsistent} inconsistent / ${result.deadLetters} dead letters so far; looking again`);
        if (result.counts.duplicated > 0 || result.counts.inconsistent > 0 || result.deadLetters > 0) break; // these do not heal
        await sleep(5000);
        continue;
      }
      if (Date.now() - lastLog > 10_000) {
        log(`settle ${clock(Date.now() - settleStart)}: ${state.detail}`);
        lastLog = Date.now();
      }
      await sleep(2000);
    }
    if (!result || failed(result)) {
      if (!isDrained) log(`not drained after ${options.settleSeconds} s: ${lastDetail}`);
      observed = await observe(platform, kafka, workload);
      result = reconcile(observed);
    }
    const settleMs = Date.now() - settleStart;

    // Not drained: do the partitions move on after a graceful restart of the consumers (a
    // rebalance and fresh consumers reading from the committed offsets), and does the
    // redelivery of what was never committed duplicate anything?
    let afterRestart: ChaosSummary['afterRestart'];
    let lagAtEnd: Awaited<ReturnType<KafkaObserver['lagDetails']>> | undefined;
    if (result.counts.undrained > 0) {
      const lagging = await kafka.lagDetails().catch(() => ({}) as Record<string, never[]>);
      lagAtEnd = lagging;
      const services = new Set([...Object.entries(lagging).filter(([, parts]) => parts.length > 0).map(([group]) => group.split('.')[0]), ...Object.entries(observed?.outboxes ?? {}).filter(([, n]) => n > 0).map(([s]) => s)]);
      // First probe: new traffic on every partition. Does the stuck group commit past its gap?
      const touched = await workload.touchApis(40);
      await sleep(10_000);
      const afterTraffic = await kafka.lagDetails().catch(() => ({}) as Record<string, never[]>);
      const stillLagging = Object.entries(afterTraffic).flatMap(([group, parts]) => parts.map((p) => `${group} p${p.partition} ${p.committed}/${p.high}`));
      log(`not drained: after ${touched} new endpoint change(s) and 10 s: ${stillLagging.length ? `still lagging: ${stillLagging.join(', ')}` : 'no lag any more'}`);
      log(`restarting ${[...services].join(', ') || 'nothing'} gracefully (fresh consumers from the committed offsets), then reconciling again`);
      for (const instance of platform.instances.filter((i) => services.has(i.service))) await instance.restart().catch((e: Error) => log(e.message.split('\n')[0]));
      let again = { done: false, detail: '' };
      for (const deadline = Date.now() + 60_000; Date.now() < deadline && !again.done; ) {
        await sleep(2000);
        again = await drained(platform, kafka).catch((e: Error) => ({ done: false, detail: e.message }));
      }
      const second = reconcile(await observe(platform, kafka, workload));
      afterRestart = { afterNewTraffic: stillLagging, restarted: [...services], drained: again.done, detail: again.detail, counts: second.counts, deadLetters: second.deadLetters, byCheck: { ...second.byCheck } };
      log(`after the restart: ${again.done ? 'drained' : `not drained (${again.detail})`}; lost ${second.counts.lost}, duplicated ${second.counts.duplicated}, inconsistent ${second.counts.inconsistent}, undrained ${second.counts.undrained}, dead letters ${second.deadLetters}`);
    }

    const deadLetters = (observed?.messages ?? []).filter((m) => m.topic.endsWith('.dlq'));
    const deadLetterSamples = deadLetters
      .slice(0, 20)
      .map((m) => ({
        topic: m.topic,
        key: m.key ?? '',
        ...pick(m.headers, ['ce_id', 'ce_type', 'dlq_reason', 'dlq_error_name', 'dlq_error_message', 'dlq_attempts', 'dlq_original_topic', 'dlq_original_partition', 'dlq_original_offset', 'dlq_failed_at']),
      }));
    // Diagnosis: the partitions still lagging and the events behind them and in the dead-letter topics.
    const lagging = lagAtEnd ?? await kafka.lagDetails().catch(() => ({}) as Awaited<ReturnType<KafkaObserver['lagDetails']>>);
    const unconsumed = Object.values(lagging).flatMap((parts) =>
      parts.flatMap((p) => (observed?.messages ?? []).filter((m) => m.topic === p.topic && m.partition === p.partition && Number(m.offset) >= p.committed)),
    );
    const lagHead = Object.fromEntries(
      Object.values(lagging).flatMap((parts) =>
        parts.map((p) => [
          `${p.topic}/${p.partition}`,
          (observed?.messages ?? [])
            .filter((m) => m.topic === p.topic && m.partition === p.partition && Number(m.offset) >= p.committed - 2 && Number(m.offset) < p.committed + 8)
            .map((m) => ({ offset: m.offset, key: m.key, ceId: m.headers['ce_id'], time: m.headers['ce_time'], correlationId: m.headers['ce_correlationid'] })),
        ]),
      ),
    );
    const diagnosis = await diagnoseEvents(platform, [...deadLetters.slice(0, 20), ...unconsumed.slice(0, 40)].map((m) => m.headers['ce_id']).filter(Boolean)).catch((e: Error) => ({ error: e.message }));
    const recoveries = faults.recoveries;
    const summary: ChaosSummary = {
      ok: !failed(result),
      seed: options.seed,
      minutes: options.minutes,
      elapsedMs: Date.now() - started,
      faultPhaseMs,
      settleMs,
      drained: isDrained,
      faults: faults.faults.length,
      faultsByKind: countBy(faults.faults, (f) => f.kind),
      faultsByVariant: countBy(faults.faults, (f) => f.variant),
      requests: {
        ok: requests.filter((w) => w.outcome === '2xx').length,
        other: requests.filter((w) => w.outcome !== '2xx').length,
        byOutcome: countBy(requests, (w) => w.outcome) as Record<Outcome, number>,
        okByAction: countBy(
          requests.filter((w) => w.outcome === '2xx'),
          (w) => w.action,
        ),
      },
      events: { distinct: result.figures.distinctEvents, byTopic: result.figures.events, resent: result.figures.resent },
      effects: {
        welcomes: result.figures.welcomes,
        auditRows: result.figures.auditRows,
        digests: result.figures.digests,
        eventsInDigests: result.figures.eventsInDigests,
        windowsHandled: result.figures.windowsHandled,
        notificationsSent: result.figures.notificationsSent,
      },
      lost: result.counts.lost,
      duplicated: result.counts.duplicated,
      inconsistent: result.counts.inconsistent,
      undrained: result.counts.undrained,
      deadLetters: result.deadLetters,
      deadLettersByTopic: observed?.deadLetters ? { ...observed.deadLetters } : {},
      byCheck: { ...result.byCheck },
      findings: result.findings.slice(0, 200).map((f) => ({ ...f, faultsAround: faultsAround(f.subject, workload.writes, faults.faults) })),
      deadLetterSamples,
      unexpectedExits: platform.instances.flatMap((i) => i.unexpectedExits),
      livenessRestarts: platform.instances.reduce((n, i) => n + i.livenessRestarts, 0),
      recoveryMs: { mean: recoveries.length ? Math.round(recoveries.reduce((a, b) => a + b, 0) / recoveries.length) : 0, max: recoveries.length ? Math.max(...recoveries) : 0 },
      injectionErrors: faults.errors,
      lagging,
      lagHead,
      afterRestart,
      diagnosis,
      build: `services built ${platform.builtAt?.toISOString() ?? '?'}; the checkout at the start: ${provenance}`,
      runDir: options.runDir,
    };
    succeeded = summary.ok;
    writeFileSync(path.join(options.runDir, 'summary.json'), JSON.stringify(summary, null, 2));
    writeFileSync(path.join(options.runDir, 'faults.json'), JSON.stringify(faults.faults, null, 2));
    writeFileSync(path.join(options.runDir, 'writes.json'), JSON.stringify(workload.writes));
    options.report?.(summary);
    return summary;
  } finally {
    await kafka?.close();
    if (options.keepOnFailure && !succeeded) {
      log(`kept for inspection (Ctrl-C stops it): Kafka ${platform.brokers.join(',')} namespace ${platform.namespace}; PostgreSQL ${platform.postgres.adminUrl} (databases ${platform.services.map((s) => `chaos_${s}`).join(', ')}); ${platform.instances.map((i) => `${i.name} ${i.url}`).join(', ')}`);
      await new Promise<void>(() => undefined); // the SIGINT handler stops the platform and exits
    }
    process.removeListener('SIGINT', stopOnSignal);
    process.removeListener('SIGTERM', stopOnSignal);
    log('stopping the platform');
    await platform.stop();
  }
}

/** For a finding about a write: the faults within 20 s before it was answered. */
function faultsAround(subject: string, writes: readonly WriteRecord[], faults: readonly FaultRecord[]): string[] | undefined {
  const write = writes.find((w) => w.correlationId === subject);
  if (!write) return undefined;
  return faults.filter((f) => f.at >= write.at - 20_000 && f.at <= write.at + 5_000).map((f) => `${new Date(f.at).toISOString()} ${f.variant}: ${f.detail}`);
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

export function describeCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(', ') : 'none';
}

function pick(headers: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (headers[n] !== undefined) out[n] = headers[n].slice(0, 400);
  return out;
}

/** HEAD, and how many files under apps/ and libs/ differ from it (the build may hold uncommitted work). */
export function buildProvenance(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: repoRoot(), encoding: 'utf8' }).stdout?.trim() ?? '';
  const head = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--', 'apps', 'libs').split('\n').filter(Boolean);
  return `${head}${dirty.length ? ` + ${dirty.length} uncommitted file(s) under apps/ and libs/` : ''}`;
}
