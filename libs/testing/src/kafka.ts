import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function repoRoot(): string {
  return path.resolve(__dirname, '../../..');
}

const kafkaTool = () => path.join(repoRoot(), 'tools/kafka/kafka.mjs');

/**
 * The brokers tests talk to: KAFKA_BROKERS when set, otherwise the repository's own broker,
 * started by tools/kafka on first use (concurrent callers wait for the one start).
 */
export async function ensureKafka(): Promise<string[]> {
  if (process.env['KAFKA_BROKERS']) return process.env['KAFKA_BROKERS'].split(',').map((b) => b.trim());
  await run(process.execPath, [kafkaTool(), 'start'], { env: process.env });
  return [`127.0.0.1:${process.env['KAFKA_PORT'] ?? 9092}`];
}

/**
 * A broker of the test's own, on its own ports and data directory: for fault tests that stop
 * and start Kafka without disturbing every other test sharing the main broker.
 */
export class PrivateKafka {
  readonly brokers: string[];
  private readonly env: NodeJS.ProcessEnv;

  constructor(readonly port: number) {
    this.brokers = [`127.0.0.1:${port}`];
    const stateDir = path.join(repoRoot(), '.kafka', `private-${port}`);
    const { KAFKA_BROKERS: _ignored, ...rest } = process.env;
    this.env = { ...rest, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), KAFKA_STATE_DIR: stateDir, KAFKA_HEAP_OPTS: '-Xms128m -Xmx512m' };
  }

  async start(): Promise<void> {
    await run(process.execPath, [kafkaTool(), 'start'], { env: this.env });
  }

  async stop(): Promise<void> {
    await run(process.execPath, [kafkaTool(), 'stop'], { env: this.env });
  }

  /** Stops the broker and deletes its data. */
  async destroy(): Promise<void> {
    await run(process.execPath, [kafkaTool(), 'reset'], { env: this.env });
  }
}
