import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { repoRoot } from './kafka';
import { sleep } from './eventually';
import { SERVICE_NODE_FLAGS } from './service-node-flags';

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** What /health/ready answers (libs/service-kit health-decisions.ts). */
export interface ReadinessBody {
  readonly status: 'up' | 'degraded' | 'down';
  readonly checks: {
    readonly database: { readonly status: 'up' | 'down'; readonly detail?: string };
    readonly migrations: { readonly status: 'up' | 'down'; readonly detail?: string };
    readonly kafka: { readonly status: 'up' | 'down'; readonly detail?: string };
    readonly useCases: readonly { readonly groupId: string; readonly status: string }[];
  };
}

/**
 * A service as a real process, started from its build output (dist/apps/<name>/main.js), the
 * way it runs in production. Keeps its output for failure messages.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private output: string[] = [];
  private readonly counters: { readonly text: string; count: number }[] = [];
  private exit?: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): this {
    const main = path.join(repoRoot(), 'dist/apps', this.name, 'main.js');
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, main], {
      cwd: repoRoot(),
      env: { ...process.env, LOG_LEVEL: 'info', PORT: String(this.port), ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output.push(text);
      for (const counter of this.counters) counter.count += text.split(counter.text).length - 1;
      if (this.output.length > 400) this.output = this.output.slice(-300);
      if (process.env['E2E_VERBOSE']) process.stderr.write(`[${this.name}] ${chunk}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    this.child = child;
    return this;
  }

  /**
   * Resolves when the service is ready *and consuming*: /health/ready answers 200 with status
   * 'up' (Kafka answers, messaging started, every use case running). Fails with the process
   * output otherwise. Tests rely on this: after it, events published reach the use cases.
   */
  waitReady(timeoutMs = 60_000): Promise<void> {
    return this.waitHealth('ready and consuming', (status, body) => status === 200 && body.status === 'up', timeoutMs);
  }

  /** Resolves when /health/ready answers 200: the API serves, whatever Kafka's state ('up' or 'degraded'). */
  waitServing(timeoutMs = 60_000): Promise<void> {
    return this.waitHealth('serving', (status) => status === 200, timeoutMs);
  }

  /** Asks /health/ready once: its HTTP status and body. */
  async readiness(): Promise<{ status: number; body: ReadinessBody }> {
    const response = await fetch(`${this.url}/health/ready`);
    return { status: response.status, body: (await response.json()) as ReadinessBody };
  }

  private async waitHealth(what: string, done: (status: number, body: ReadinessBody) => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited while starting:\n${this.logs()}`);
      try {
        const { status, body } = await this.readiness();
        if (done(status, body)) return;
        last = `${status} ${JSON.stringify(body)}`;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`${this.name} not ${what} within ${timeoutMs} ms (last /health/ready: ${last}):\n${this.logs()}`);
  }

  kill(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Sends SIGTERM and resolves with the exit code once the process is gone. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (!this.running) return this.child?.exitCode ?? null;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    try {
      return (await this.exit) ?? null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when the process has exited (after kill or a crash). */
  exited(): Promise<number | null> {
    return this.exit ?? Promise.resolve(null);
  }

  /**
   * Counts occurrences of `text` in the output from now on, however long it runs (logs() keeps
   * only the last part): e.g. that a message is logged once, not once per probe.
   */
  countOutput(text: string): { readonly count: number } {
    const counter = { text, count: 0 };
    this.counters.push(counter);
    return counter;
  }

  logs(lastChars = 6000): string {
    return this.output.join('').slice(-lastChars);
  }
}
