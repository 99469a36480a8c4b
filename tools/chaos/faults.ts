/**
 * Fault injection: every few seconds (seeded), one fault among those possible right now:
 *  - kill:      SIGKILL of one process of a service (the supervisor restarts it); at most one
 *               kill outstanding per service (killed and not serving again);
 *  - broker:    the run's Kafka broker stopped for a few seconds, then started again;
 *  - postgres:  the run's PostgreSQL cluster restarted (pg_ctl -m fast, sometimes -m immediate:
 *               crash recovery), sometimes with a few seconds of downtime in between;
 *  - relay:     the outbox relay leader of a service database (the session holding the relay's
 *               advisory lock) loses its connection (pg_terminate_backend) or its process (SIGKILL).
 */
import { Client } from 'pg';
import { RELAY_LOCK_IN_PG_LOCKS } from '@platform/messaging';
import { sleep } from '@platform/testing';
import type { ChaosPlatform, ServiceInstance } from './platform';
import type { Rng } from './rng';

export type FaultKind = 'kill' | 'broker' | 'postgres' | 'relay';

export interface FaultRecord {
  readonly at: number;
  readonly kind: FaultKind;
  /** e.g. 'users#2', 'immediate, down 3 s', 'terminate users (chaos-users-1)'. */
  readonly detail: string;
  /** A finer kind for the figures: 'kill users', 'postgres immediate', 'relay terminate', ... */
  readonly variant: string;
}

export interface FaultOptions {
  /** Mean time between two faults. */
  readonly everyMs: number;
  readonly weights: Readonly<Record<FaultKind, number>>;
}


export interface RelayLeader {
  readonly backendPid: number;
  readonly applicationName: string;
}

/** The session holding the outbox relay's advisory lock in a database, if any. */
export async function relayLeader(adminUrl: string, database: string): Promise<RelayLeader | undefined> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; application_name: string }>(
      `SELECT l.pid, a.application_name
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = $1 AND l.objid = $2 AND d.datname = $3`,
      [RELAY_LOCK_IN_PG_LOCKS.classid, RELAY_LOCK_IN_PG_LOCKS.objid, database],
    );
    return rows[0] ? { backendPid: rows[0].pid, applicationName: rows[0].application_name } : undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export class FaultInjector {
  readonly faults: FaultRecord[] = [];
  /** Services with a kill outstanding: killed, not serving again yet. */
  private readonly outstanding = new Map<string, ServiceInstance>();
  private brokerDown = false;
  private postgresDown = false;
  private running = false;
  private loop?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  /** Time from SIGKILL to serving again, per kill. */
  readonly recoveries: number[] = [];
  readonly errors: string[] = [];

  constructor(
    private readonly platform: ChaosPlatform,
    private readonly rng: Rng,
    private readonly options: FaultOptions,
    private readonly log: (line: string) => void,
  ) {
    for (const instance of platform.instances) {
      instance.onServing = (i) => {
        const killed = this.outstanding.get(i.service);
        if (killed === i) this.outstanding.delete(i.service);
      };
    }
  }

  /** What is down right now, for the progress line. */
  get down(): string[] {
    return [
      ...(this.brokerDown ? ['broker'] : []),
      ...(this.postgresDown ? ['postgres'] : []),
      ...this.platform.instances.filter((i) => !i.serving).map((i) => i.name),
    ];
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops injecting and waits until every fault has been undone (broker and database up again). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all([...this.inFlight]);
  }

  private async run(): Promise<void> {
    while (this.running) {
      await sleep(this.options.everyMs * this.rng.between(0.5, 1.5));
      if (!this.running) break;
      try {
        await this.injectOne();
      } catch (error) {
        this.errors.push(`${new Date().toISOString()} ${(error as Error).message}`);
        this.log(`fault injection failed: ${(error as Error).message}`);
      }
    }
  }

  private killable(): string[] {
    return this.platform.services.filter((s) => !this.outstanding.has(s) && this.platform.instancesOf(s).some((i) => i.alive));
  }

  private async injectOne(): Promise<void> {
    const { weights } = this.options;
    const kind = this.rng.weighted<FaultKind>([
      ['kill', this.killable().length > 0 ? weights.kill : 0],
      ['broker', this.brokerDown ? 0 : weights.broker],
      ['postgres', this.postgresDown ? 0 : weights.postgres],
      ['relay', this.postgresDown ? 0 : weights.relay],
    ]);
    if (!kind) return;
    switch (kind) {
      case 'kill': {
        const service = this.rng.pick(this.killable());
        const alive = this.platform.instancesOf(service).filter((i) => i.alive);
        this.kill(this.rng.pick(alive), 'kill', `kill ${service}`, '');
        return;
      }
      case 'broker': {
        const downMs = Math.round(this.rng.between(2000, 6000));
        this.record('broker', 'broker stop', `down ${(downMs / 1000).toFixed(1)} s + start`);
        this.background(async () => {
          this.brokerDown = true;
          try {
            await this.platform.kafka.stop();
            await sleep(downMs);
          } finally {
            await retry('start the broker', () => this.platform.kafka.start());
            this.brokerDown = false;
          }
        });
        return;
      }
      case 'postgres': {
        const mode = this.rng.chance(0.35) ? 'immediate' : 'fast';
        const downMs = this.rng.chance(0.5) ? 0 : Math.round(this.rng.between(1000, 5000));
        this.record('postgres', `postgres ${mode}`, `pg_ctl restart -m ${mode}${downMs > 0 ? `, down ${(downMs / 1000).toFixed(1)} s` : ''}`);
        this.background(async () => {
          this.postgresDown = true;
          try {
            await this.platform.postgres.restart({ mode, downMs }).catch(async (error: Error) => {
              this.log(`pg_ctl restart failed (${error.message.split('\n')[0]}); starting the cluster`);
              await retry('start PostgreSQL', () => this.platform.postgres.start());
            });
          } finally {
            this.postgresDown = false;
          }
        });
        return;
      }
      case 'relay': {
        // Services whose database has a leader right now, in random order.
        const services = [...this.platform.services].sort(() => this.rng.next() - 0.5);
        for (const service of services) {
          const leader = await relayLeader(this.platform.postgres.adminUrl, this.platform.databaseOf(service)).catch(() => undefined);
          if (!leader) continue;
          const instance = this.platform.instances.find((i) => i.applicationName === leader.applicationName);
          const killProcess = instance !== undefined && !this.outstanding.has(service) && this.rng.chance(0.5);
          if (killProcess) {
            this.kill(instance, 'relay', 'relay leader SIGKILL', ` (relay leader of ${service}, backend ${leader.backendPid})`);
          } else {
            await this.terminate(leader.backendPid);
            this.record('relay', 'relay leader connection terminated', `pg_terminate_backend(${leader.backendPid}) of ${leader.applicationName}`);
          }
          return;
        }
        return;
      }
    }
  }

  private kill(instance: ServiceInstance, kind: FaultKind, variant: string, note: string): void {
    this.outstanding.set(instance.service, instance);
    const killedAt = Date.now();
    this.record(kind, variant, `SIGKILL ${instance.name} (pid ${instance.pid})${note}`);
    instance.kill();
    this.background(async () => {
      while (this.outstanding.get(instance.service) === instance) await sleep(100);
      this.recoveries.push(Date.now() - killedAt);
    });
  }

  private async terminate(backendPid: number): Promise<void> {
    const client = new Client({ connectionString: this.platform.postgres.adminUrl, connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('SELECT pg_terminate_backend($1)', [backendPid]);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private record(kind: FaultKind, variant: string, detail: string): void {
    const fault = { at: Date.now(), kind, variant, detail };
    this.faults.push(fault);
    this.log(`fault ${this.faults.length}: ${variant}: ${detail}`);
  }

  private background(work: () => Promise<void>): void {
    const promise = work()
      .catch((error: Error) => {
        this.errors.push(`${new Date().toISOString()} ${error.message}`);
        this.log(`fault could not be undone cleanly: ${error.message}`);
      })
      .finally(() => this.inFlight.delete(promise));
    this.inFlight.add(promise);
  }
}

async function retry(what: string, work: () => Promise<void>, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts) throw new Error(`could not ${what} after ${attempts} attempts: ${(error as Error).message}`);
      await sleep(2000 * attempt);
    }
  }
}
