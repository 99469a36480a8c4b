/**
 * npx nx run contracts:generate-asyncapi
 * Writes the AsyncAPI document of the contracts and the service declarations; a test fails
 * while the committed one differs from what the code says.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadServices } from '../deploy/catalog/load-services';
import { REPO_ROOT } from '../deploy/paths';
import { ASYNCAPI_FILE, asyncApiDocument } from './document';
import { renderAsyncApi } from './render';

async function main(): Promise<void> {
  writeFileSync(path.join(REPO_ROOT, ASYNCAPI_FILE), renderAsyncApi(asyncApiDocument(await loadServices())));
  process.stdout.write(`${ASYNCAPI_FILE} generated\n`);
}

main().catch((error) => {
  process.stderr.write(`generate-asyncapi failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
