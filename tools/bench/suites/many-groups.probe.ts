/**
 * Child process of the messaging benchmark: starts N use cases (N consumer groups) in this
 * process and reports what they cost: extra RSS, sockets to the broker, time until every
 * group has its partitions. A fresh process per N keeps the measurements apart.
 *   node --expose-gc <service flags> --import tsx tools/bench/suites/many-groups.probe.ts <count> <brokers> <namespace> <database url> [kafka client | hand-built]
 */
import { silentLogger } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { CE, createBroker, DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS, KafkaNaming, ServiceMessaging, type EnvelopeOf, type KafkaClient, type UseCase } from '@platform/messaging';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { readFileSync } from 'node:fs';

const EVENTS = [EndpointUpdated] as const;
/** The client argument that measures the hand-built peer instead of the library. */
const HAND_BUILT = 'hand-built';
/** How long the groups work before the measurement ends. */
const PEAK_WINDOW_MS = 5000;

/** Events handled by every group of the process, library or peer. */
let handled = 0;

class NoopUseCase implements UseCase<typeof EVENTS> {
  readonly events = EVENTS;
  constructor(readonly name: string) {}
  async handle(_event: EnvelopeOf<typeof EVENTS>): Promise<void> {
    // the cost of a group, not of its work; counted, to set memory beside the work done
    handled += 1;
  }
}

function rssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  if (process.env['PROBE_VERBOSE']) process.stderr.write(JSON.stringify({ rss: m.rss >> 20, heap: m.heapUsed >> 20, heapTotal: m.heapTotal >> 20, external: m.external >> 20, buffers: m.arrayBuffers >> 20 }) + '\n');
  return m.rss / 1024 / 1024;
}

/** RSS by kind (MB): anonymous memory (heaps, buffers, allocator arenas) and file pages (the node binary's code, mapped files). */
function rssParts(): { anon: number; file: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { anon: kb('RssAnon') / 1024, file: (kb('RssFile') + kb('RssShmem')) / 1024 };
  } catch {
    return { anon: NaN, file: NaN };
  }
}

function brokerSockets(port: number): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => (h as { remotePort?: number }).remotePort === port).length;
}

/** The groups under measurement: started, all with partitions, stopped. */
interface Members {
  start(): Promise<void>;
  allAssigned(): boolean;
  stop(): Promise<void>;
}

/** N use cases of the library in one ServiceMessaging. */
function libraryMembers(client: KafkaClient, count: number, brokers: string[], naming: KafkaNaming, pool: Pool): Members {
  const messaging = new ServiceMessaging({
    service: 'groups',
    broker: createBroker(client, { brokers, clientId: 'groups-probe', logger: silentLogger }),
    naming,
    pool,
    publishes: [],
    // Groups of their own per client: the other client's run has committed the same backlog.
    useCases: Array.from({ length: count }, (_, i) => new NoopUseCase(`${client}-use-case-${i + 1}`)),
    logger: silentLogger,
  });
  return {
    start: () => messaging.start(),
    allAssigned: () => messaging.consumers.every((c) => c.assignment.length > 0),
    stop: () => messaging.stop(1000),
  };
}

/**
 * The peer: what a team would write by hand for the same job, N plain kafkajs consumers
 * (eachMessage, auto-commit, the client's default fetch sizes) each recording every event's id
 * in an inbox table of the same database, one INSERT per message, no buffer, retry or dead letter.
 */
function handBuiltMembers(count: number, brokers: string[], naming: KafkaNaming, pool: Pool): Members {
  const kafka = new Kafka({ clientId: 'groups-probe-hand-built', brokers, logLevel: logLevel.NOTHING });
  const groups = Array.from({ length: count }, (_, i) => ({ groupId: `${naming.namespace}.hand-built-${i + 1}`, consumer: kafka.consumer({ groupId: `${naming.namespace}.hand-built-${i + 1}` }) }));
  const assigned = new Set<string>();
  return {
    async start() {
      await pool.query('CREATE TABLE IF NOT EXISTS hand_built_inbox (group_id text NOT NULL, event_id text NOT NULL, PRIMARY KEY (group_id, event_id))');
      for (const { groupId, consumer } of groups) {
        consumer.on(consumer.events.GROUP_JOIN, () => assigned.add(groupId));
        await consumer.connect();
        await consumer.subscribe({ topic: naming.topic(EndpointUpdated), fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            handled += 1;
            await pool.query('INSERT INTO hand_built_inbox (group_id, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [groupId, message.headers?.[CE.id]?.toString() ?? message.offset]);
          },
        });
      }
    },
    allAssigned: () => assigned.size === groups.length,
    stop: async () => {
      await Promise.all(groups.map(({ consumer }) => consumer.disconnect()));
    },
  };
}

async function main(): Promise<void> {
  const [countArg, brokers, namespace, databaseUrl, clientArg] = process.argv.slice(2);
  const client = clientArg ?? DEFAULT_KAFKA_CLIENT;
  if (client !== HAND_BUILT && !(KAFKA_CLIENTS as readonly string[]).includes(client)) throw new Error(`unknown Kafka client "${client}": ${[...KAFKA_CLIENTS, HAND_BUILT].join(', ')}`);
  const count = Number(countArg);
  const port = Number(brokers.split(',')[0].split(':')[1]);
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  const naming = new KafkaNaming(namespace);
  const members = client === HAND_BUILT ? handBuiltMembers(count, brokers.split(','), naming, pool) : libraryMembers(client as KafkaClient, count, brokers.split(','), naming, pool);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = rssMb();
  const partsBefore = rssParts();
  const socketsBefore = brokerSockets(port);
  const started = Date.now();
  await members.start();
  while (!members.allAssigned()) await new Promise((resolve) => setTimeout(resolve, 20));
  const readyMs = Date.now() - started;
  // The highest RSS while the groups work (a backlog keeps them busy for longer than this), and then after a full GC.
  const handledBefore = handled;
  let peak = process.memoryUsage.rss();
  let peakParts = rssParts();
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) [peak, peakParts] = [rss, rssParts()];
    if (process.env['PROBE_VERBOSE']) {
      const m = process.memoryUsage();
      process.stderr.write(JSON.stringify({ t: Date.now() - started, rss: m.rss >> 20, heapTotal: m.heapTotal >> 20, heap: m.heapUsed >> 20, external: m.external >> 20, buffers: m.arrayBuffers >> 20, handled }) + '\n');
    }
  }, 50);
  await new Promise((resolve) => setTimeout(resolve, PEAK_WINDOW_MS));
  clearInterval(sampler);
  const handledInWindow = handled - handledBefore;
  const after = rssMb();
  if (process.env['PROBE_HEAP']) require('node:v8').writeHeapSnapshot(process.env['PROBE_HEAP']);
  const sockets = brokerSockets(port) - socketsBefore;
  await members.stop();
  await pool.end();
  process.stdout.write(JSON.stringify({ count, readyMs, rssDeltaMb: after - before, peakRssDeltaMb: peak / 1024 / 1024 - before, peakAnonDeltaMb: peakParts.anon - partsBefore.anon, peakFileDeltaMb: peakParts.file - partsBefore.file, brokerConnections: sockets, handledPerSecond: Math.round(handledInWindow / (PEAK_WINDOW_MS / 1000)) }) + '\n');
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
