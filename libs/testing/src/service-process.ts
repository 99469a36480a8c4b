import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { repoRoot } from './kafka';
import { sleep } from './eventually';

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

/**
 * A service as a real process, started from its build output (dist/apps/<name>/main.js), the
 * way it runs in production. Keeps its output for failure messages.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private output: string[] = [];
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
    const child = spawn(process.execPath, [main], {
      cwd: repoRoot(),
      env: { ...process.env, LOG_LEVEL: 'info', PORT: String(this.port), ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 400) this.output = this.output.slice(-300);
      if (process.env['E2E_VERBOSE']) process.stderr.write(`[${this.name}] ${chunk}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    this.child = child;
    return this;
  }

  /** Resolves when /health/ready answers 200; fails with the process output otherwise. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited while starting:\n${this.logs()}`);
      try {
        if ((await fetch(`${this.url}/health/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.logs()}`);
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

  logs(lastChars = 6000): string {
    return this.output.join('').slice(-lastChars);
  }
}
