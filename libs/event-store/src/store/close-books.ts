import type { SqlClient } from '@platform/core';
import { STREAM_LOCK_CLASS } from '../schema/append-function.sql';
import { ARCHIVE_STREAM_SQL } from '../schema/closed-books.sql';
import { appendToStream, type AppendRow, type AppendStatement } from './append';
import { ConcurrencyError } from './errors';
import type { AppendResult, NewEvent, RecordedEvent } from './event';

/** Turns a stream's open books into the one event that opens the next ones (it must carry all the state that is still needed). */
export type Summarize = (openBooks: readonly RecordedEvent[]) => NewEvent | Promise<NewEvent>;

export interface CloseBooksOptions {
  /** Refuse (ConcurrencyError) unless the stream is at this version when its lock is taken. */
  readonly expectedVersion?: number;
}

export interface ClosedBooks {
  /** The summary's version: where the open books start now. */
  readonly openedAt: number;
  /** Events moved to the archive: versions up to `openedAt - 1` that were open. */
  readonly archived: number;
  /** The summary's append. */
  readonly summary: AppendResult;
}

/**
 * Closes the books of `stream` inside the caller's READ COMMITTED transaction `tx`: takes the
 * stream's lock (the one appenders queue on, so an append waits for the closing to commit and
 * then sees the summary as the stream's version; one holding it first is in the summarized
 * history), reads the open books, appends `summarize(openBooks)` after them and moves them to
 * the archive, where they keep their versions and their place in the global order. The stream's
 * snapshot goes: it is older than the summary.
 */
export async function closeBooksIn(
  tx: SqlClient,
  stream: string,
  summarize: Summarize,
  read: (tx: SqlClient) => Promise<readonly RecordedEvent[]>,
  options: CloseBooksOptions = {},
): Promise<ClosedBooks> {
  await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [STREAM_LOCK_CLASS, stream]);
  const openBooks = await read(tx);
  if (openBooks.length === 0) throw new RangeError(`closeBooks: stream "${stream}" has no events`);
  const version = openBooks[openBooks.length - 1].streamVersion;
  if (options.expectedVersion !== undefined && options.expectedVersion !== version) throw new ConcurrencyError(stream, options.expectedVersion, version);
  const summaryEvent = await summarize(openBooks);
  const statement: AppendStatement = (text, values) => tx.query<AppendRow>(text, values);
  const summary = await appendToStream(statement, stream, [summaryEvent], version, { notify: true, checkIds: true });
  const moved = await tx.query(ARCHIVE_STREAM_SQL, [stream, version]);
  await tx.query('DELETE FROM event_store.snapshots WHERE stream_id = $1', [stream]);
  return { openedAt: summary.streamVersion, archived: moved.rowCount ?? 0, summary };
}
