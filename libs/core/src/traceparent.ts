import { randomBytes } from 'node:crypto';

// version-traceid-parentid-flags; a later version may append fields after another '-'.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;

/** The fields of a valid W3C `traceparent`. */
export interface TraceparentFields {
  readonly traceId: string;
  readonly parentId: string;
  /** The trace flags; bit 0 is "sampled". */
  readonly flags: number;
}

/** The fields of a W3C `traceparent`, or undefined when it is missing or not a valid one. */
export function parseTraceparent(traceparent: string | undefined): TraceparentFields | undefined {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return undefined;
  const [, version, traceId, parentId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined) || ZEROS.test(traceId) || ZEROS.test(parentId)) return undefined;
  return { traceId, parentId, flags: parseInt(flags, 16) };
}

/** The trace id of a W3C `traceparent`, or undefined when it is missing or not a valid one. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return parseTraceparent(traceparent)?.traceId;
}

/** A version-00 `traceparent` of a trace id, a span id and trace flags. */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * A new trace, for a request that came without one: its events carry it onward, so the lines
 * of every service that handles them share one trace id. Not sampled: nothing records spans.
 */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`;
}
