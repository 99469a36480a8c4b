import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../deploy/paths';

export const ENSURE_NODE = path.join(REPO_ROOT, 'tools/node/ensure-node.sh');
export const RUN_WITH_NODE = path.join(REPO_ROOT, 'tools/node/run.sh');
export const PINNED_VERSION = readFileSync(path.join(REPO_ROOT, '.node-version'), 'utf8').trim();

/** The Node.js releases package.json's "engines" accepts, as a semver range. */
export function engines(): string {
  return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
}

const created: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A directory of stand-in executables (shell scripts), to put first on PATH. */
export function binDir(scripts: Record<string, string>): string {
  const dir = tempDir('ensure-node-bin');
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(dir, name), 0o755);
  }
  return dir;
}

/**
 * A `node` that answers `-v` with the given version and is otherwise the node running the
 * tests, so an npm started through it (its shebang is `env node`) still works.
 */
export function nodeClaiming(version: string): string {
  return `[ "$1" = -v ] && { echo v${version}; exit 0; }\nexec "${process.execPath}" "$@"`;
}

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script of tools/node with `firstOnPath` ahead of the inherited PATH and its cache in `cache`. */
export function runScript(script: string, options: { firstOnPath: string[]; cache: string; args?: string[] }): Promise<Outcome> {
  const env = { ...process.env, PATH: [...options.firstOnPath, process.env['PATH']].join(path.delimiter), PLATFORM_NODE_CACHE: options.cache };
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...(options.args ?? [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: stdout.trim(), stderr }));
  });
}
