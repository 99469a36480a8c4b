import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { EndpointUpdated } from '@platform/contracts';
import { ensureTopics, KafkaNaming } from '@platform/messaging';
import type { BenchContext } from '../../bench';
import type { BenchEnv } from './fixture';

const run = promisify(execFile);

export interface GroupCost {
  readonly state: 'idle' | 'catching-up';
  readonly count: number;
  readonly readyMs: number;
  readonly rssDeltaMb: number;
  readonly brokerConnections: number;
}

/**
 * (e) what N use cases (N consumer groups) cost in one process, each N in a fresh process:
 * idle (an empty topic: the fixed cost of a group) and catching up (the topic the outbox
 * suite filled: fetch buffers come on top).
 */
export async function manyGroups(ctx: BenchContext, env: BenchEnv, counts: readonly number[]): Promise<GroupCost[]> {
  const db = await env.database('groups');
  const idle = new KafkaNaming(`${env.namespace}-idle`);
  const admin = await env.broker.admin();
  await ensureTopics(admin, idle, [EndpointUpdated]);
  await admin.disconnect();
  const root = path.resolve(__dirname, '../../../..');
  const costs: GroupCost[] = [];
  for (const [state, naming] of [['idle', idle], ['catching-up', env.naming()]] as const)
  for (const count of counts) {
    ctx.progress(`many groups: ${count} use case(s) in one process, ${state}`);
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', path.join(root, 'node_modules/tsx/dist/cli.mjs'), '--tsconfig', path.join(root, 'tsconfig.base.json'), path.join(__dirname, '../many-groups.probe.ts'), String(count), env.brokers.join(','), `${naming.namespace}`, db.url],
      { cwd: root, maxBuffer: 1024 * 1024 },
    );
    const cost = { state, ...(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Omit<GroupCost, 'state'>) };
    costs.push(cost);
    const name = `groups_${count}_${state.replace('-', '_')}`;
    ctx.record(`${name}_ready`, cost.readyMs, 'ms');
    ctx.record(`${name}_rss_delta`, cost.rssDeltaMb, 'MB');
    ctx.record(`${name}_broker_connections`, cost.brokerConnections, 'connections');
  }
  return costs;
}
