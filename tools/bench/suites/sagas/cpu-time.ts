import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (ms) used so far by the processes a measurement involves. */
export interface CpuTimes {
  /** This process: the service's messaging (firer, relay, Kafka producer) or the peer's poller. */
  readonly bench: number;
  /** The PostgreSQL backends connected to the measured database. */
  readonly database: number;
  /** The Kafka broker (a java process with kafka in its command line). */
  readonly broker: number;
  /** Whether /proc showed any backend of the database: false when PostgreSQL runs elsewhere. */
  readonly seen: boolean;
}

let ticksPerSecond: number | undefined;

/**
 * Read from /proc (Linux, PostgreSQL and Kafka on this machine, as the bench runs them): where a
 * measurement's time goes when the machine, not a wait, is what limits it. A backend that exits
 * between two readings is not counted; the pools keep theirs open while measured.
 */
export function cpuTimes(database: string): CpuTimes {
  const own = process.cpuUsage();
  const times = { bench: (own.user + own.system) / 1000, database: 0, broker: 0, seen: false };
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return times;
  }
  for (const pid of pids) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const backend = command.startsWith('postgres: ') && command.includes(` ${database} `);
      const broker = command.includes('java') && command.includes('kafka');
      if (!backend && !broker) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // utime and stime, the 14th and 15th fields; the command name before them may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
      if (backend) {
        times.database += ms;
        times.seen = true;
      } else times.broker += ms;
    } catch {
      // The process ended while read.
    }
  }
  return times;
}

/**
 * CPU µs per item between two readings, by process. The total leaves the broker out: it serves
 * every run on the machine, and its time includes theirs.
 */
export function cpuPerItem(before: CpuTimes, after: CpuTimes, items: number): { bench: number; database: number; broker: number; total: number } {
  const per = (ms: number) => Math.round((ms * 1000) / items);
  const bench = per(after.bench - before.bench);
  const database = per(after.database - before.database);
  const broker = per(after.broker - before.broker);
  return { bench, database, broker, total: bench + database };
}
