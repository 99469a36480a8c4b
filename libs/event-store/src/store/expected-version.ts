/**
 * What the writer believes the stream's version is: exactly `n` (0 = no events yet),
 * 'no_stream', 'stream_exists', or 'any' (no check).
 */
export type ExpectedVersion = 'no_stream' | 'stream_exists' | 'any' | number;

const ANY = -1;
const STREAM_EXISTS = -2;

/** The encoding of event_store.append_to_stream's p_expected. */
export function encodeExpectedVersion(expected: ExpectedVersion): number {
  switch (expected) {
    case 'any':
      return ANY;
    case 'stream_exists':
      return STREAM_EXISTS;
    case 'no_stream':
      return 0;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) {
        throw new RangeError(`expectedVersion must be 'no_stream', 'stream_exists', 'any' or an integer >= 0, got ${String(expected)}`);
      }
      return expected;
  }
}

/** Whether a stream at `actual` satisfies `expected` (the rule the SQL function applies). */
export function satisfiesExpectedVersion(expected: ExpectedVersion, actual: number): boolean {
  const encoded = encodeExpectedVersion(expected);
  if (encoded === ANY) return true;
  if (encoded === STREAM_EXISTS) return actual > 0;
  return actual === encoded;
}
