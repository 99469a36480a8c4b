import { ConcurrencyError, EventIdConflictError, StreamOrderError } from './errors';
import type { AppendResult, NewEvent } from './event';
import { encodeExpectedVersion, type ExpectedVersion } from './expected-version';
import { toSafeNumber } from './log-position';

export interface AppendRow {
  outcome: 'appended' | 'replayed' | 'conflict' | 'id_conflict' | 'order_conflict';
  new_version: string | null;
  positions: string[] | null;
  txid: string | null;
  conflicting_id: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Refuses what the database would refuse less clearly, before a round trip. */
export function validateAppend(stream: string, events: readonly NewEvent[]): void {
  if (typeof stream !== 'string' || stream.length === 0) throw new TypeError('stream must be a non-empty string');
  if (events.length === 0) throw new TypeError(`append to "${stream}": no events`);
  const ids = new Set<string>();
  for (const event of events) {
    if (!UUID.test(event.id)) throw new TypeError(`append to "${stream}": event id "${event.id}" is not a UUID`);
    if (ids.has(event.id.toLowerCase())) throw new TypeError(`append to "${stream}": event id ${event.id} appears twice`);
    ids.add(event.id.toLowerCase());
    if (typeof event.type !== 'string' || event.type.length === 0) throw new TypeError(`append to "${stream}": event ${event.id} has no type`);
    if (event.data === undefined) throw new TypeError(`append to "${stream}": event ${event.id} has no data`);
  }
}

/** Runs the append statement: a transaction's connection, or the store's pool with a prepared statement. */
export type AppendStatement = (text: string, values: readonly unknown[]) => Promise<{ rows: AppendRow[] }>;

export interface AppendMode {
  /** NOTIFY listeners from inside the transaction (delivered at its commit). */
  readonly notify: boolean;
  /**
   * Look for the ids before inserting, so a retry is answered without an error: required
   * inside a caller's transaction, where an error would abort it. Without it, a stored id
   * fails the statement and the append is asked again with the check.
   */
  readonly checkIds: boolean;
}

export const APPEND_SQL = `SELECT outcome, new_version, positions, txid::text AS txid, conflicting_id
  FROM event_store.append_to_stream($1, $2, $3, $4, $5)`;

const isEventIdViolation = (error: unknown) => (error as { constraint?: string }).constraint === 'events_event_id_key';
const violatingId = (error: unknown) => /\(event_id\)=\(([^)]+)\)/.exec((error as { detail?: string }).detail ?? '')?.[1] ?? 'unknown';

/** One call of event_store.append_to_stream; refusals become typed errors. */
export async function appendToStream(
  statement: AppendStatement,
  stream: string,
  events: readonly NewEvent[],
  expected: ExpectedVersion,
  mode: AppendMode,
): Promise<AppendResult> {
  validateAppend(stream, events);
  const payload = JSON.stringify(events.map(({ id, type, data, metadata }) => ({ id, type, data, metadata: metadata ?? {} })));
  const values = [stream, encodeExpectedVersion(expected), payload, mode.notify];
  let row: AppendRow;
  try {
    [row] = (await statement(APPEND_SQL, [...values, mode.checkIds])).rows;
  } catch (error) {
    if (!isEventIdViolation(error)) throw error;
    // With the check, the id was stored meanwhile by a transaction that had not committed yet.
    if (mode.checkIds) throw new EventIdConflictError(stream, violatingId(error));
    // Without it the failed statement stored nothing: ask again, now with the check.
    [row] = (await statement(APPEND_SQL, [...values, true])).rows;
  }
  return toResult(row, stream, expected);
}

/** An append's row as its result, or its refusal as a typed error. */
export function toResult(row: AppendRow, stream: string, expected: ExpectedVersion): AppendResult {
  switch (row.outcome) {
    case 'appended':
    case 'replayed': {
      const globalPositions = (row.positions ?? []).map((p) => toSafeNumber(p, 'global position'));
      return {
        streamVersion: toSafeNumber(row.new_version ?? '', 'stream version'),
        globalPositions,
        position: { transactionId: toSafeNumber(row.txid ?? '', 'transaction id'), globalPosition: globalPositions[globalPositions.length - 1] },
        replayed: row.outcome === 'replayed',
      };
    }
    case 'conflict':
      throw new ConcurrencyError(stream, expected, toSafeNumber(row.new_version ?? '', 'stream version'));
    case 'id_conflict':
      throw new EventIdConflictError(stream, row.conflicting_id ?? 'unknown');
    case 'order_conflict':
      throw new StreamOrderError(stream);
  }
}
