import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { EndpointUpdated } from '@platform/contracts';
import { DEFAULT_KAFKA_CLIENT, ensureTopics, KAFKA_CLIENTS, KafkaNaming } from '@platform/messaging';
import { SERVICE_NODE_FLAGS } from '@platform/testing';
import type { BenchContext } from '../../bench';
import type { BenchEnv } from './fixture';

const run = promisify(execFile);

/** Issue 14: 20 use cases catching up a 50,000-event backlog, at most this much more RSS. */
const RSS_TARGET_MB = 80;
/** The probe's name for the peer: plain kafkajs consumers writing an inbox row per message. */
const HAND_BUILT = 'hand-built';

export interface GroupCost {
  readonly client: string;
  readonly state: 'idle' | 'catching-up';
  readonly count: number;
  readonly readyMs: number;
  /** After a full GC, 5 s after every group had its partitions. */
  readonly rssDeltaMb: number;
  /** The highest, sampled every 50 ms over those 5 s. */
  readonly peakRssDeltaMb: number;
  /** Of that peak: anonymous memory (heaps, buffers, allocator) and file pages (the node binary's code). */
  readonly peakAnonDeltaMb: number;
  readonly peakFileDeltaMb: number;
  /** Events the process's groups handled per second over those 5 s: what the memory bought. */
  readonly handledPerSecond: number;
  readonly brokerConnections: number;
}

/**
 * (e) what N use cases (N consumer groups) cost in one process, each N in a fresh process:
 * idle (an empty topic: the fixed cost of a group) and catching up (the topic the outbox
 * suite filled: fetch buffers come on top). On the default Kafka client, whose lines carry no
 * client name, then on the other; first, the peer a team would write by hand (plain kafkajs
 * consumers, an inbox row per message), whose figures the library's carry as baseline. The target is held against the highest RSS over 5 s of
 * work: one sample 1.5 s in, as before 2026-12-01, caught the process before it had grown.
 */
export async function manyGroups(ctx: BenchContext, env: BenchEnv, counts: readonly number[]): Promise<GroupCost[]> {
  const db = await env.database('groups');
  const idle = new KafkaNaming(`${env.namespace}-idle`);
  const admin = await env.broker.admin();
  await ensureTopics(admin, idle, [EndpointUpdated]);
  await admin.disconnect();
  const root = path.resolve(__dirname, '../../../..');
  const costs: GroupCost[] = [];
  // The hand-built peer first: the library's lines carry their ratio to it.
  const clients = [HAND_BUILT, DEFAULT_KAFKA_CLIENT, ...KAFKA_CLIENTS.filter((c) => c !== DEFAULT_KAFKA_CLIENT)];
  for (const client of clients)
  for (const [state, naming] of [['idle', idle], ['catching-up', env.naming()]] as const)
  for (const count of counts) {
    ctx.progress(`many groups (${client}): ${count} use case(s) in one process, ${state}`);
    // In this process's node, with the services' flags and gc() on its command line: V8 flags
    // are refused in NODE_OPTIONS, and tsx's own CLI would run the script in a child without them.
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', ...SERVICE_NODE_FLAGS, '--import', 'tsx', path.join(__dirname, '../many-groups.probe.ts'), String(count), env.brokers.join(','), `${naming.namespace}`, db.url, client],
      { cwd: root, maxBuffer: 1024 * 1024, env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json') } },
    );
    const cost = { client, state, ...(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Omit<GroupCost, 'client' | 'state'>) };
    costs.push(cost);
    const nameOf = (of: string) => `groups_${of === DEFAULT_KAFKA_CLIENT ? '' : `${of.replace('-', '_')}_`}${count}_${state.replace('-', '_')}`;
    const name = nameOf(client);
    ctx.record(`${name}_ready`, cost.readyMs, 'ms');
    const target = count === 20 && state === 'catching-up' && client !== HAND_BUILT ? { atMost: RSS_TARGET_MB } : undefined;
    const peer = costs.find((c) => c.client === HAND_BUILT && c.state === state && c.count === count);
    const baseline = peer && client !== HAND_BUILT ? { metric: `${nameOf(HAND_BUILT)}_peak_rss_delta`, value: peer.peakRssDeltaMb, lowerIsBetter: true } : undefined;
    ctx.record(`${name}_rss_delta`, cost.rssDeltaMb, 'MB');
    ctx.record(`${name}_peak_rss_delta`, cost.peakRssDeltaMb, 'MB', baseline, target);
    ctx.record(`${name}_broker_connections`, cost.brokerConnections, 'connections');
    if (state === 'catching-up') {
      const peerRate = peer && client !== HAND_BUILT ? { metric: `${nameOf(HAND_BUILT)}_handled_per_s`, value: peer.handledPerSecond } : undefined;
      ctx.record(`${name}_handled_per_s`, cost.handledPerSecond, 'events/s', peerRate);
      ctx.progress(`${count} group(s) on ${client}: peak +${cost.peakRssDeltaMb.toFixed(0)} MB (anonymous +${cost.peakAnonDeltaMb.toFixed(0)}, file pages +${cost.peakFileDeltaMb.toFixed(0)}) while handling ${cost.handledPerSecond} events/s`);
    }
  }
  return costs;
}
