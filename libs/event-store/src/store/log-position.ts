/**
 * A place in the store's global order. Events are ordered by the id of the transaction that
 * wrote them, then by position; readers only ever see transactions older than every one
 * still in flight, so nothing can later appear before a position a reader has passed.
 * A checkpoint is therefore this pair, never the position alone.
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

/** bigint and xid8 columns arrive as strings; both stay far below 2^53 in practice, but check. */
export function toSafeNumber(value: string | number, what: string): number {
  const n = typeof value === 'number' ? value : /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${what} ${String(value)} is not a safe integer`);
  return n;
}
