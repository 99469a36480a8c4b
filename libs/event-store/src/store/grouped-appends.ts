import type { Pool } from 'pg';
import { errorFields, type Logger } from '@platform/core';
import { STREAM_LOCK_CLASS } from '../schema/append-function.sql';
import { appendToStream, toResult, validateAppend, type AppendRow, type AppendStatement } from './append';
import type { AppendResult, NewEvent } from './event';
import { encodeExpectedVersion, type ExpectedVersion } from './expected-version';

/** Appends in one statement at most: bounds the statement's size and the wait of the last one in it. */
const MAX_GROUP = 64;
/**
 * An append of more events goes on its own, as before: its insert, not its transaction, is most of
 * its cost, and a group would put on one connection (one core of the database) work that
 * concurrent appends spread over all of them (100-event appends, 8 writers: 0.95x a raw 100-row
 * INSERT grouped, 1.35x alone, in the same hour).
 */
const MAX_EVENTS_GROUPED = 10;

interface PendingAppend {
  readonly stream: string;
  readonly events: readonly NewEvent[];
  readonly expected: ExpectedVersion;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/**
 * Each append of the group, in the order given (streams sorted), under a lock of its stream taken
 * without waiting: an append whose stream another transaction holds is not run (`free` false) and
 * goes again alone, so the group's transaction never waits for a stream while holding others, and
 * never joins a deadlock. The appends share the transaction's id in the store, as appends of one
 * transaction do. The function runs in a sub-select under a CASE, which runs only where the lock
 * was free (a lateral join filtered on it was planned to call the function first and filter
 * after), and its row comes back as JSON (a record of OUT parameters cannot leave a CASE); OFFSET
 * 0 keeps each step from being merged into the next, so the lock is tried once per row.
 */
const GROUP_SQL = `SELECT n::int AS n, free, r->>'outcome' AS outcome, r->>'new_version' AS new_version,
       CASE WHEN jsonb_typeof(r->'positions') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(r->'positions')) END AS positions, r->>'txid' AS txid, r->>'conflicting_id' AS conflicting_id
  FROM (
    SELECT n, free, CASE WHEN free THEN (SELECT to_jsonb(a) FROM event_store.append_to_stream(s, e, ev, false, false) a) END AS r
      FROM (SELECT s, e, ev, n, pg_try_advisory_xact_lock(${STREAM_LOCK_CLASS}, hashtext(s)) AS free
              FROM unnest($1::text[], $2::bigint[], $3::jsonb[]) WITH ORDINALITY AS u(s, e, ev, n) OFFSET 0) locked
     ORDER BY n OFFSET 0
  ) appended ORDER BY n`;

type GroupRow = AppendRow & { n: number; free: boolean };

/**
 * Group commit for appends made outside a caller's transaction: while one statement is on its way,
 * the appends that come meanwhile wait and go together as the next, one statement and one commit
 * for all of them, each with its own stream, expected version and outcome. Alone, an append goes at
 * once; under load the commits, not the appends, are what the database counts. Nothing in the
 * statement waits for a stream's lock, so the next group never waits behind a long transaction.
 * An append whose turn in the group could not be decided there (its stream held by another
 * transaction, an id stored meanwhile, a stream whose last writer registered after the group, or
 * the group's statement failing) is appended again alone, as the store always appended it.
 */
export class GroupedAppends {
  private readonly waiting: PendingAppend[] = [];
  private sending = false;

  constructor(
    private readonly pool: Pool,
    private readonly alone: AppendStatement,
    private readonly logger: Logger,
  ) {}

  append(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    if (events.length > MAX_EVENTS_GROUPED) return appendToStream(this.alone, stream, events, expected, { notify: false, checkIds: false });
    validateAppend(stream, events);
    encodeExpectedVersion(expected);
    return new Promise<AppendResult>((resolve, reject) => {
      this.waiting.push({ stream, events, expected, resolve, reject });
      this.sendNext();
    });
  }

  private sendNext(): void {
    if (this.sending || this.waiting.length === 0) return;
    this.sending = true;
    // Even one append goes as a group: an append that waits for its stream must not hold up the others.
    this.sendGroup(this.takeGroup()).finally(() => setImmediate(() => this.sendAfterTurn()));
  }

  /**
   * The next group goes once the callers its results released have run (their continuations are
   * microtasks of this turn): a caller that appends again at once joins it. Sent as soon as the
   * group returned, the next group held the first caller back alone, and the rest went after it:
   * 8 writers in a loop made groups of 1 and 7, two commits a round (2,457 appends/s against
   * 4,015 with groups of 8, in alternating runs of the event-store bench on 2026-12-02).
   */
  private sendAfterTurn(): void {
    this.sending = false;
    this.sendNext();
  }

  /** The longest-waiting appends, one per stream (a stream's next append waits for the group after). */
  private takeGroup(): PendingAppend[] {
    const streams = new Set<string>();
    const group: PendingAppend[] = [];
    for (let i = 0; i < this.waiting.length && group.length < MAX_GROUP; ) {
      const pending = this.waiting[i];
      if (streams.has(pending.stream)) {
        i++;
        continue;
      }
      streams.add(pending.stream);
      group.push(pending);
      this.waiting.splice(i, 1);
    }
    return group.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
  }

  private async sendAlone(pending: PendingAppend): Promise<void> {
    try {
      pending.resolve(await appendToStream(this.alone, pending.stream, pending.events, pending.expected, { notify: false, checkIds: false }));
    } catch (error) {
      pending.reject(error);
    }
  }

  private async sendGroup(group: readonly PendingAppend[]): Promise<void> {
    let rows: GroupRow[];
    try {
      ({ rows } = await this.pool.query<GroupRow>({
        name: 'event_store_append_group',
        text: GROUP_SQL,
        values: [
          group.map((p) => p.stream),
          group.map((p) => encodeExpectedVersion(p.expected)),
          group.map((p) => JSON.stringify(p.events.map(({ id, type, data, metadata }) => ({ id, type, data, metadata: metadata ?? {} })))),
        ],
      }));
    } catch (error) {
      // Nothing of the group was stored (one statement, one transaction); its appends' own errors are theirs alone.
      if ((error as { constraint?: string }).constraint !== 'events_event_id_key') {
        this.logger.warn('a group of appends failed; appending each alone', { appends: group.length, ...errorFields(error) });
      }
      this.eachAlone(group);
      return;
    }
    const again: PendingAppend[] = [];
    for (const row of rows) {
      const pending = group[row.n - 1];
      if (!row.free || row.outcome === 'order_conflict') again.push(pending);
      else {
        try {
          pending.resolve(toResult(row, pending.stream, pending.expected));
        } catch (refusal) {
          pending.reject(refusal);
        }
      }
    }
    this.eachAlone(again);
  }

  /**
   * Not waited for by the next group: one of them may wait for a stream that a long transaction
   * holds, and the process's other appends must not wait behind it.
   */
  private eachAlone(appends: readonly PendingAppend[]): void {
    for (const pending of appends) void this.sendAlone(pending);
  }
}
