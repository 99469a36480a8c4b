import { DLQ } from '@platform/messaging';

/** A stack frame that is not ours: a dependency, Node itself, or a native call. */
const FOREIGN_FRAME = /node_modules|\(node:|^\s*at (?:node:|new Promise|process\.processTicksAndRejections|<anonymous>)|\(native\)/;

/** The first frame of a stack that runs our code (services, libraries), without the leading `at `. */
export function firstOwnFrame(stack: string | undefined): string | undefined {
  for (const line of (stack ?? '').split('\n')) {
    if (!/^\s+at\s/.test(line) || FOREIGN_FRAME.test(line)) continue;
    return line.trim().replace(/^at\s+/, '').replace(/\((?:[^()]*[\\/])?([^\\/()]+:\d+:\d+)\)$/, '($1)');
  }
  return undefined;
}

export interface FailureKey {
  /** Stable id of the failure: the error's name and where in our code it was thrown. */
  readonly id: string;
  readonly errorName: string;
  readonly frame?: string;
}

/**
 * Which failure a dead letter belongs to: the error name and the first stack frame of our code,
 * so a thousand letters of one bug are one line, whatever their messages (which hold ids) say.
 * Letters without an error (late events, invalid payloads without a stack) group by their reason.
 */
export function failureOf(headers: Readonly<Record<string, string>>): FailureKey {
  const errorName = headers[DLQ.errorName] || headers[DLQ.reason] || 'unknown';
  const frame = firstOwnFrame(headers[DLQ.errorStack]);
  return { id: frame ? `${errorName} at ${frame}` : errorName, errorName, ...(frame ? { frame } : {}) };
}
