/**
 * Child process of the messaging benchmark: starts N use cases (N consumer groups) in this
 * process and reports what they cost: extra RSS, sockets to the broker, time until every
 * group has its partitions. A fresh process per N keeps the measurements apart.
 *   tsx tools/bench/suites/many-groups.probe.ts <count> <brokers> <namespace> <database url> [kafka client]
 */
import { silentLogger } from '@platform/core';
import { EndpointUpdated } from '@platform/contracts';
import { createBroker, DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS, KafkaNaming, ServiceMessaging, type EnvelopeOf, type KafkaClient, type UseCase } from '@platform/messaging';
import { Pool } from 'pg';

const EVENTS = [EndpointUpdated] as const;
/** How long the groups work before the measurement ends. */
const PEAK_WINDOW_MS = 5000;

class NoopUseCase implements UseCase<typeof EVENTS> {
  readonly events = EVENTS;
  constructor(readonly name: string) {}
  async handle(_event: EnvelopeOf<typeof EVENTS>): Promise<void> {
    // the cost of a group, not of its work
  }
}

function rssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  if (process.env['PROBE_VERBOSE']) process.stderr.write(JSON.stringify({ rss: m.rss >> 20, heap: m.heapUsed >> 20, heapTotal: m.heapTotal >> 20, external: m.external >> 20, buffers: m.arrayBuffers >> 20 }) + '\n');
  return m.rss / 1024 / 1024;
}

function brokerSockets(port: number): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => (h as { remotePort?: number }).remotePort === port).length;
}

async function main(): Promise<void> {
  const [countArg, brokers, namespace, databaseUrl, clientArg] = process.argv.slice(2);
  const client = (clientArg ?? DEFAULT_KAFKA_CLIENT) as KafkaClient;
  if (!KAFKA_CLIENTS.includes(client)) throw new Error(`unknown Kafka client "${client}": ${KAFKA_CLIENTS.join(', ')}`);
  const count = Number(countArg);
  const port = Number(brokers.split(',')[0].split(':')[1]);
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  const messaging = new ServiceMessaging({
    service: 'groups',
    broker: createBroker(client, { brokers: brokers.split(','), clientId: 'groups-probe', logger: silentLogger }),
    naming: new KafkaNaming(namespace),
    pool,
    publishes: [],
    // Groups of their own per client: the other client's run has committed the same backlog.
    useCases: Array.from({ length: count }, (_, i) => new NoopUseCase(`${client}-use-case-${i + 1}`)),
    logger: silentLogger,
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = rssMb();
  const socketsBefore = brokerSockets(port);
  const started = Date.now();
  await messaging.start();
  while (messaging.consumers.some((c) => c.assignment.length === 0)) await new Promise((resolve) => setTimeout(resolve, 20));
  const readyMs = Date.now() - started;
  // The highest RSS while the groups work (a backlog keeps them busy for longer than this), and then after a full GC.
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  await new Promise((resolve) => setTimeout(resolve, PEAK_WINDOW_MS));
  clearInterval(sampler);
  const after = rssMb();
  if (process.env['PROBE_HEAP']) require('node:v8').writeHeapSnapshot(process.env['PROBE_HEAP']);
  const sockets = brokerSockets(port) - socketsBefore;
  await messaging.stop(1000);
  await pool.end();
  process.stdout.write(JSON.stringify({ count, readyMs, rssDeltaMb: after - before, peakRssDeltaMb: peak / 1024 / 1024 - before, brokerConnections: sockets }) + '\n');
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
