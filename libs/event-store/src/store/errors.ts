import type { ExpectedVersion } from './expected-version';

/**
 * The stream is not at the version the writer expected. Not retriable as is: the writer
 * must reload the stream and decide again (over HTTP: 409 with the current version).
 */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  readonly retriable = false;

  constructor(
    readonly stream: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`stream "${stream}": expected version ${String(expected)}, actual ${actual}`);
  }
}

/** An event id that is already stored elsewhere, in another order, or with other content. */
export class EventIdConflictError extends Error {
  override readonly name = 'EventIdConflictError';
  readonly retriable = false;

  constructor(
    readonly stream: string,
    readonly eventId: string,
  ) {
    super(`stream "${stream}": event id ${eventId} is already stored with other content or at another place`);
  }
}

/**
 * The appending transaction took its place in the global order before the one that wrote the
 * stream's last event, so its events would sort before that one. Happens when a transaction
 * appended to another stream first, then another transaction appended to this stream and
 * committed. (Writing to other tables first does not matter: a transaction takes its place at
 * its first append.) Roll back and retry in a new transaction. (The store's own append() never
 * meets it.)
 */
export class StreamOrderError extends Error {
  override readonly name = 'StreamOrderError';
  readonly retriable = true;

  constructor(readonly stream: string) {
    super(`stream "${stream}" was last written by a newer transaction; retry the append in a new transaction`);
  }
}
