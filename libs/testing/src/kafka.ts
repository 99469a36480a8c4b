import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { stablePort } from './stable-port';

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

/** How to reach a broker's SASL_SSL listener: what tools/kafka writes to `<state dir>/sasl-ssl.json` at start. */
export interface SaslSslListener {
  readonly bootstrap: string;
  readonly securityProtocol: 'SASL_SSL';
  readonly mechanism: 'scram-sha-512';
  /** The CA (PEM file) the broker's certificate is signed by. */
  readonly caFile: string;
  /** A super user. */
  readonly admin: { readonly username: string; readonly password: string };
}

/**
 * A broker of the test's own, on its own ports and data directory: for fault tests that stop
 * and start Kafka without disturbing every other test sharing the main broker, and for tests
 * of its SASL_SSL listener (on port + 2; the controller is on port + 1).
 */
export class PrivateKafka {
  readonly brokers: string[];
  private readonly env: NodeJS.ProcessEnv;
  private readonly stateDir: string;

  /** A private broker on a free run of three ports (plain, controller, SASL_SSL). */
  static async onFreePorts(): Promise<PrivateKafka> {
    return new PrivateKafka(await stablePort(3));
  }

  constructor(readonly port: number) {
    this.brokers = [`127.0.0.1:${port}`];
    const stateDir = path.join(repoRoot(), '.kafka', `private-${port}`);
    this.stateDir = stateDir;
    const { KAFKA_BROKERS: _ignored, ...rest } = process.env;
    this.env = {
      ...rest,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(port + 1),
      KAFKA_SASL_SSL_PORT: String(port + 2),
      KAFKA_STATE_DIR: stateDir,
      KAFKA_HEAP_OPTS: '-Xms128m -Xmx512m',
    };
  }

  /** Its SASL_SSL listener, once started. */
  saslSsl(): SaslSslListener {
    return JSON.parse(readFileSync(path.join(this.stateDir, 'sasl-ssl.json'), 'utf8')) as SaslSslListener;
  }

  /** Creates (or updates) a SCRAM-SHA-512 user, through the broker's plain listener. */
  async scramUser(name: string, password: string): Promise<void> {
    await run(process.execPath, [kafkaTool(), 'scram-user', name, password], { env: this.env });
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
