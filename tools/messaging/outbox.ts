/**
 * npm run outbox -- <service> dead-letters|redrive [--id N ...|--all] [--database-url URL] [--database NAME]
 *
 * The outbox rows Kafka refused every time (too large for their topic, topic gone, not
 * authorized), which the relay moved to messaging.outbox_dead_letters:
 *   dead-letters          lists them: position, topic, key, attempts, failed_at, error
 *   redrive --all         moves all of them back to the end of the outbox, attempts reset,
 *   redrive --id N ...    or those at the given positions; one transaction. The relay sends
 *                         them next; one Kafka still refuses comes back after its budget.
 * The database is <prefix>_<service> (--prefix, default platform, as tools/platform/provision.ts
 * names them) on the server of --database-url, else DATABASE_URL, else the local one; --database
 * names another. Progress goes to stderr, results to stdout; exit code 2 on bad usage.
 */
import { Client } from 'pg';
import { OutboxRelay } from '@platform/messaging';

const USAGE = `usage: npm run outbox -- <service> dead-letters|redrive [--id N ...|--all] [--database-url URL] [--database NAME] [--prefix platform]
  dead-letters       list the outbox rows Kafka refused (position, topic, key, attempts, failed_at, error)
  redrive --all      move every dead letter back to the end of the outbox (attempts reset)
  redrive --id N     move the dead letter at position N back (repeat --id, or N,M,...)
`;

const VALUE_OPTIONS = ['id', 'database-url', 'database', 'prefix'];
const FLAGS = ['all', 'help'];

class UsageError extends Error {}

interface Command {
  readonly service: string;
  readonly action: 'dead-letters' | 'redrive';
  readonly ids: string[];
  readonly all: boolean;
  readonly serverUrl: string;
  readonly database: string;
}

function parse(argv: readonly string[]): Command {
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (FLAGS.includes(name) && inline === undefined) flags.add(name);
    else if (VALUE_OPTIONS.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      values.set(name, [...(values.get(name) ?? []), value]);
    } else throw new UsageError(`unknown option ${arg}`);
  }
  if (flags.has('help')) throw new UsageError('');
  const [service, action, ...extra] = positional;
  if (!service || !action) throw new UsageError('a service and an action are required');
  if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
  if (action !== 'dead-letters' && action !== 'redrive') throw new UsageError(`unknown action "${action}"`);
  if (!/^[a-z][a-z0-9-]*$/.test(service)) throw new UsageError(`"${service}" is not a service name`);
  const ids = (values.get('id') ?? []).flatMap((v) => v.split(',')).map((v) => v.trim());
  if (ids.some((id) => !/^\d+$/.test(id))) throw new UsageError(`--id takes dead-letter positions (whole numbers), got ${ids.join(',')}`);
  const all = flags.has('all');
  if (action === 'redrive' && all === (ids.length > 0)) throw new UsageError('redrive needs either --all or --id N');
  if (action === 'dead-letters' && (all || ids.length > 0)) throw new UsageError('dead-letters lists them all; --id and --all are for redrive');
  const prefix = values.get('prefix')?.at(-1) ?? 'platform';
  const database = values.get('database')?.at(-1) ?? `${prefix}_${service.replace(/-/g, '_')}`;
  const serverUrl = values.get('database-url')?.at(-1) ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  return { service, action, ids, all, serverUrl, database };
}

function connectionString(serverUrl: string, database: string): string {
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw new UsageError(`--database-url is not a URL: ${serverUrl}`);
  }
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n';
}

async function main(): Promise<number> {
  let command: Command;
  try {
    command = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) process.stderr.write(`outbox: ${error.message}\n`);
    process.stderr.write(USAGE);
    return 2;
  }
  const url = connectionString(command.serverUrl, command.database);
  const shown = new URL(url);
  process.stderr.write(`outbox dead letters of ${command.service}: database ${command.database} on ${shown.hostname}:${shown.port || 5432}\n`);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const deadLetters = OutboxRelay.deadLettersOf(client);
    if (command.action === 'dead-letters') {
      const letters = await deadLetters.list();
      process.stderr.write(`${letters.length} dead letter(s)\n`);
      if (letters.length > 0) {
        process.stdout.write(
          table([
            ['position', 'topic', 'key', 'attempts', 'failed_at', 'error'],
            ...letters.map((l) => [l.position, l.topic, l.key, String(l.attempts), l.failedAt.toISOString(), `${l.errorName}: ${l.error}`]),
          ]),
        );
      }
      return 0;
    }
    const before = await deadLetters.list();
    const missing = command.ids.filter((id) => !before.some((l) => l.position === id));
    for (const id of missing) process.stderr.write(`no dead letter at position ${id}\n`);
    const selected = command.all ? before.length : command.ids.length - missing.length;
    process.stderr.write(`moving ${selected} dead letter(s) back to the end of the outbox\n`);
    const positions = await deadLetters.redrive(command.all ? { all: true } : { positions: command.ids });
    process.stdout.write(`${positions.length} dead letter(s) moved back to the outbox${positions.length > 0 ? `, now at position(s) ${positions.join(', ')}` : ''}\n`);
    return missing.length > 0 ? 1 : 0;
  } finally {
    await client.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    const message = error instanceof Error ? error.message : String(error);
    const hint = (error as { code?: string }).code === '42P01' ? ' (the service applies the messaging migrations when it starts; has this one started since it was updated?)' : '';
    process.stderr.write(`outbox failed: ${message}${hint}\n`);
    process.exit(1);
  },
);
