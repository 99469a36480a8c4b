import type { Tree } from '@nx/devkit';
import { appendToArray, arrayElements, ensureNamedImport } from './source-edits';

export function readSource(tree: Tree, file: string): string {
  const text = tree.read(file, 'utf-8');
  if (text === null) throw new Error(`${file} does not exist`);
  return text;
}

export function serviceRoot(tree: Tree, service: string): string {
  const root = `apps/${service}`;
  if (!tree.exists(`${root}/src/service.declaration.ts`)) throw new Error(`${root}/src/service.declaration.ts does not exist: --service names a service of this workspace`);
  return root;
}

/** The contract class must be one EVENT_REGISTRY lists: what a use case declares is deployed from there. */
export function assertRegisteredEvent(tree: Tree, className: string): void {
  const registry = 'libs/contracts/src/registry.ts';
  if (!arrayElements(registry, readSource(tree, registry), 'EVENT_REGISTRY').includes(className)) {
    throw new Error(`${className} is not in EVENT_REGISTRY (${registry}): add the contract first (nx g @platform/tools:event)`);
  }
}

/**
 * Adds a use case or saga class to the service declaration's `useCases` (which the deployment
 * generator, the AsyncAPI document and the kit read) and makes sure the AppModule provides the
 * declared use cases, which the kit resolves through Nest.
 */
export function registerUseCase(tree: Tree, service: string, className: string, fromFile: string): void {
  const root = serviceRoot(tree, service);
  const declarationFile = `${root}/src/service.declaration.ts`;
  let declaration = readSource(tree, declarationFile);
  declaration = ensureNamedImport(declarationFile, declaration, fromFile, className);
  tree.write(declarationFile, appendToArray(declarationFile, declaration, 'useCases', className));

  const moduleFile = `${root}/src/app.module.ts`;
  tree.write(moduleFile, appendToArray(moduleFile, readSource(tree, moduleFile), 'providers', '...DECLARATION.useCases'));
}

/** Adds a migration constant to the AppModule's `migrations` (applied in that order at start). */
export function registerMigration(tree: Tree, service: string, constant: string, fromFile: string): void {
  const moduleFile = `${serviceRoot(tree, service)}/src/app.module.ts`;
  let source = readSource(tree, moduleFile);
  source = ensureNamedImport(moduleFile, source, fromFile, constant);
  tree.write(moduleFile, appendToArray(moduleFile, source, 'migrations', constant));
}
