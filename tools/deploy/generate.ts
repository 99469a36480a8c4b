/**
 * npx nx run tools:generate-manifests
 * Writes the Kubernetes bases, the Strimzi and CloudNativePG resources and the compose stack's
 * topic and database scripts from the contracts and the service declarations, and removes
 * files of the generated directories that are no longer produced (a removed service).
 */
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles } from './generated-files';
import { GENERATED_DIRS, REPO_ROOT } from './paths';

function* filesUnder(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* filesUnder(full);
    else yield full;
  }
}

async function main(): Promise<void> {
  const files = await generatedFiles();
  for (const [relative, content] of files) {
    const target = path.join(REPO_ROOT, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
    if (target.endsWith('.sh')) chmodSync(target, 0o755);
  }
  for (const dir of GENERATED_DIRS) {
    for (const file of filesUnder(path.join(REPO_ROOT, dir))) {
      const relative = path.relative(REPO_ROOT, file);
      if (!files.has(relative)) {
        rmSync(file);
        process.stdout.write(`removed ${relative}\n`);
      }
    }
  }
  process.stdout.write(`${files.size} files generated\n`);
}

main().catch((error) => {
  process.stderr.write(`generate-manifests failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
