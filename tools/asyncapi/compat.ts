/**
 * npx nx run contracts:compat   [COMPAT_BASE=<git rev>]
 * Compares the contracts as the code states them now with the committed AsyncAPI document (or
 * the document at COMPAT_BASE) and exits 1 on a change that breaks a consumer within a version.
 */
import { loadServices } from '../deploy/catalog/load-services';
import { REPO_ROOT } from '../deploy/paths';
import { readBaseline } from './compat/baseline';
import { breakingChanges, describeBreakingChange } from './compat/breaking-changes';
import { eventSurfaces } from './compat/event-surface';
import { ASYNCAPI_FILE, asyncApiDocument } from './document';
import { parseAsyncApi } from './render';

async function main(): Promise<number> {
  const baseline = readBaseline(REPO_ROOT, ASYNCAPI_FILE, process.env['COMPAT_BASE'] || undefined);
  if (baseline.text === undefined) {
    process.stdout.write(`contracts:compat: no ${baseline.origin}; nothing to compare with\n`);
    return 0;
  }
  const report = breakingChanges(eventSurfaces(parseAsyncApi(baseline.text)), eventSurfaces(asyncApiDocument(await loadServices())));
  const summary = `${report.compared} event versions compared with ${baseline.origin}; new: ${report.added.join(', ') || 'none'}; retired: ${report.retired.join(', ') || 'none'}`;
  if (report.breaking.length === 0) {
    process.stdout.write(`contracts:compat: compatible. ${summary}\n`);
    return 0;
  }
  process.stderr.write(
    [
      `contracts:compat: ${report.breaking.length} breaking change(s) within an event version (${summary}):`,
      ...report.breaking.map((change) => `  ✘ ${describeBreakingChange(change)}`),
      'Consumers on the old schema, and events already written, would break. Publish the new shape as a new version of the event (its own topic) instead; see README.md, "Contract compatibility and the AsyncAPI document".',
      '',
    ].join('\n'),
  );
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`contracts:compat failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  },
);
