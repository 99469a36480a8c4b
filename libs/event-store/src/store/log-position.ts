/**
 * A place in the store's global order. Events are ordered by the id of the transaction that
 * wrote them, then by position. That id is the store's own (handed out at a transaction's
 * first append, from 2^52 up; events stored before migration 1765000000002 keep their
 * PostgreSQL xid, below every store id). Readers only ever see ids below every one a
 * transaction still appending may hold, so nothing can later appear before a position a
 * reader has passed. A checkpoint is therefore this pair, never the position alone.
 */
export interface LogPosition {
  readonly transactionId: number;
  readonly globalPosition: number;
}

/** Before the first event. */
export const LOG_START: LogPosition = Object.freeze({ transactionId: 0, globalPosition: 0 });

export function compareLogPositions(a: LogPosition, b: LogPosition): number {
  return a.transactionId - b.transactionId || a.globalPosition - b.globalPosition;
}

export function maxLogPosition(a: LogPosition, b: LogPosition): LogPosition {
  return compareLogPositions(a, b) >= 0 ? a : b;
}

export function sameLogPosition(a: LogPosition, b: LogPosition): boolean {
  return compareLogPositions(a, b) === 0;
}

export function positionOf(event: LogPosition): LogPosition {
  return { transactionId: event.transactionId, globalPosition: event.globalPosition };
}

/** bigint and xid8 columns arrive as strings; both stay below 2^53 (store ids: 2^52 + one per appending transaction), but check. */
export function toSafeNumber(value: string | number, what: string): number {
  const n = typeof value === 'number' ? value : /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${what} ${String(value)} is not a safe integer`);
  return n;
}
