import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * What the platform derives from the contracts and the declarations, written again after a
 * generator changed them: the AsyncAPI document (contracts:generate-asyncapi) and the
 * Kubernetes, compose and console files (tools:generate-manifests). Both are checked for drift
 * by the tools tests, so a generator that skipped them would leave the workspace failing.
 * Run as a generator callback: after Nx wrote the files, never on --dry-run.
 */
export function regenerateDerivedFiles(root: string): void {
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  for (const script of ['tools/asyncapi/generate.ts', 'tools/deploy/generate.ts']) {
    execFileSync(tsx, ['--tsconfig', 'tsconfig.base.json', script], { cwd: root, stdio: 'inherit' });
  }
}
