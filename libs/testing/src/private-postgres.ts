import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How a cluster is stopped: 'fast' (sessions ended, checkpoint) or 'immediate' (no checkpoint: crash recovery at the next start). */
export type PostgresStopMode = 'fast' | 'immediate';

export interface PrivatePostgresOptions {
  /** Directory of initdb / pg_ctl; default PG_BIN, else the newest /usr/lib/postgresql/<version>/bin. */
  readonly binDir?: string;
  /** Parent of the cluster's directory (default the OS temp directory). */
  readonly parentDir?: string;
  /** Extra postgresql.conf settings. */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** The OS user that runs the cluster when we are root (initdb refuses root); default 'postgres'. */
  readonly osUser?: string;
}

/** The newest PostgreSQL server binaries of the Debian layout, or PG_BIN. */
export function postgresBinDir(): string {
  if (process.env['PG_BIN']) return process.env['PG_BIN'];
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${base}: install postgresql or set PG_BIN`);
  versions.sort((a, b) => Number(b) - Number(a));
  return path.join(base, versions[0], 'bin');
}

/**
 * A throwaway PostgreSQL cluster of the test's own, on its own port and data directory: for
 * fault tests that restart or crash PostgreSQL without disturbing everyone sharing the main
 * server. Trust authentication on 127.0.0.1 only, superuser `postgres`, fsync on (the default:
 * a crash must not lose a committed transaction). When we run as root, initdb and pg_ctl run
 * as the `postgres` OS user (initdb refuses root), in a directory that user owns.
 */
export class PrivatePostgres {
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly binDir: string;
  private readonly osUser?: string;

  constructor(
    readonly port: number,
    private readonly options: PrivatePostgresOptions = {},
  ) {
    this.binDir = options.binDir ?? postgresBinDir();
    this.dir = mkdtempSync(path.join(options.parentDir ?? tmpdir(), `private-pg-${port}-`));
    this.dataDir = path.join(this.dir, 'data');
    this.logFile = path.join(this.dir, 'postgres.log');
    this.osUser = process.getuid?.() === 0 ? (options.osUser ?? 'postgres') : undefined;
  }

  /** A superuser connection to the cluster's `postgres` database: the admin URL for provisionServiceDatabase. */
  get adminUrl(): string {
    return this.url('postgres');
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Creates the cluster on first use, then starts it and waits until it accepts connections. */
  async start(): Promise<void> {
    if (!existsSync(path.join(this.dataDir, 'PG_VERSION'))) await this.init();
    else if (await this.running()) return;
    await this.pgCtl(['start', '-w', '-t', '120', '-l', this.logFile]);
  }

  /**
   * Stops and starts the cluster. 'fast' ends the sessions and checkpoints; 'immediate' is a
   * crash-like stop (no checkpoint, WAL replayed at start). With `downMs`, the cluster stays
   * down that long between the two (an outage rather than a blip).
   */
  async restart({ mode = 'fast', downMs = 0 }: { mode?: PostgresStopMode; downMs?: number } = {}): Promise<void> {
    if (downMs <= 0) {
      await this.pgCtl(['restart', '-w', '-t', '120', '-m', mode, '-l', this.logFile]);
      return;
    }
    await this.stop(mode);
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.start();
  }

  async stop(mode: PostgresStopMode = 'fast'): Promise<void> {
    if (!(await this.running())) return;
    await this.pgCtl(['stop', '-w', '-t', '120', '-m', mode]);
  }

  /** Whether the server process is running (pg_ctl status). */
  async running(): Promise<boolean> {
    try {
      await this.pgCtl(['status']);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops the cluster (immediately) and deletes its directory. */
  async destroy(): Promise<void> {
    if (existsSync(path.join(this.dataDir, 'postmaster.pid'))) await this.pgCtl(['stop', '-w', '-m', 'immediate']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async init(): Promise<void> {
    if (this.osUser) {
      const { stdout } = await run('id', ['-u', this.osUser]);
      const { stdout: gid } = await run('id', ['-g', this.osUser]);
      chownSync(this.dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await this.as('initdb', ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-instructions']);
    const settings: Record<string, string | number> = {
      port: this.port,
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${this.dir}'`,
      fsync: 'on',
      synchronous_commit: 'on',
      full_page_writes: 'on',
      max_connections: 300,
      shared_buffers: "'64MB'",
      log_min_messages: 'warning',
      log_connections: 'off',
      ...this.options.settings,
    };
    const conf = Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n');
    const postgresqlConf = path.join(this.dataDir, 'postgresql.conf');
    appendFileSync(postgresqlConf, `\n# private cluster for tests\n${conf}\n`);
    // Trust on 127.0.0.1 only; the socket lives in the cluster's own directory.
    writeFileSync(path.join(this.dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    if (this.osUser) await this.as('chown', ['-R', `${this.osUser}:`, this.dataDir]).catch(() => undefined);
  }

  private pgCtl(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return this.as(path.join(this.binDir, 'pg_ctl'), ['-D', this.dataDir, ...args]);
  }

  private async as(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    const binary = command.includes('/') || command === 'chown' ? command : path.join(this.binDir, command);
    const [file, argv] = this.osUser && command !== 'chown' ? ['runuser', ['-u', this.osUser, '--', binary, ...args]] : [binary, args];
    try {
      return await run(file, argv, { cwd: this.dir, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const e = error as Error & { stderr?: string; stdout?: string };
      throw new Error(`${path.basename(binary)} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
    }
  }
}
