import type { BenchSuite } from '../bench';
import { benchEnv } from './messaging/fixture';
import { closureThroughput } from './sagas/closure-throughput';
import { timeoutLateness } from './sagas/timeout-lateness';

/**
 * The sagas suite, one run on one broker and one PostgreSQL: each part is a function of the
 * shared environment, printing its figures with their peer measured in the same run: timeout
 * firing lateness, then account closures end to end across three services (issue 11, item 7).
 */
const suite: BenchSuite = async (ctx) => {
  const env = await benchEnv(ctx.quick ? 500 : 2000);
  try {
    await timeoutLateness(ctx, env, ctx.quick ? { due: 10_000, pending: 20_000, rounds: 1 } : { due: 10_000, pending: 100_000, rounds: 3 });
    await env.settle();
    await closureThroughput(ctx, env, ctx.quick ? { clients: 8, closures: 160 } : { clients: 8, closures: 800 });
  } finally {
    await env.close();
  }
};
export default suite;
