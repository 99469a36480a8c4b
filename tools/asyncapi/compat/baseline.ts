import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Baseline {
  /** Where it was read, for the report: the committed file, or `<file> at <rev>`. */
  readonly origin: string;
  /** undefined when there is none (the document did not exist at that revision yet). */
  readonly text: string | undefined;
}

/**
 * The document to compare against: the file as committed at `rev` (CI: the merge base, so a
 * change that edits the contracts and regenerates the document is still compared with what
 * consumers have), or the file in the working tree.
 */
export function readBaseline(root: string, file: string, rev: string | undefined): Baseline {
  if (!rev) {
    const full = path.join(root, file);
    return { origin: file, text: existsSync(full) ? readFileSync(full, 'utf8') : undefined };
  }
  const commit = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const origin = `${file} at ${rev} (${commit.slice(0, 12)})`;
  try {
    return { origin, text: execFileSync('git', ['show', `${commit}:${file}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }) };
  } catch {
    return { origin, text: undefined };
  }
}
