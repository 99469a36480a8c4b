import { generateFiles, type GeneratorCallback, type Tree } from '@nx/devkit';
import path from 'node:path';
import { spellings } from '../shared/naming';
import { regenerateDerivedFiles } from '../shared/regenerate';
import { assertRegisteredEvent, registerMigration, registerUseCase, serviceRoot } from '../shared/register';

export interface UseCaseOptions {
  readonly name: string;
  readonly service: string;
  readonly event: string;
  readonly skipRegenerate?: boolean;
}

/** `<13-digit timestamp>-<kebab name>` (libs/core SqlMigration), later than every migration the service has. */
export function nextMigrationId(tree: Tree, root: string, kebab: string): string {
  const taken = tree.children(`${root}/src/migrations`).map((f) => Number(/^(\d{13})-/.exec(f)?.[1] ?? 0));
  return `${Math.max(Date.now(), ...taken.map((t) => t + 1))}-${kebab}`;
}

export async function useCaseGenerator(tree: Tree, options: UseCaseOptions): Promise<GeneratorCallback | void> {
  const root = serviceRoot(tree, options.service);
  const { kebab, pascal, snake } = spellings(options.name);
  assertRegisteredEvent(tree, options.event);
  if (tree.exists(`${root}/src/${kebab}`)) throw new Error(`${root}/src/${kebab} already exists`);
  const migrationId = nextMigrationId(tree, root, kebab);
  const migrationConstant = `${snake.toUpperCase()}_TABLE`;
  const substitutions = { tmpl: '', kebab, pascal, event: options.event, table: `${snake}_events`, migrationId, migrationConstant };
  generateFiles(tree, path.join(__dirname, 'files/__kebab__'), `${root}/src/${kebab}`, substitutions);
  generateFiles(tree, path.join(__dirname, 'files/migrations'), `${root}/src/migrations`, substitutions);
  registerUseCase(tree, options.service, `${pascal}UseCase`, `./${kebab}/${kebab}.use-case`);
  registerMigration(tree, options.service, migrationConstant, `./migrations/${migrationId}`);
  if (!options.skipRegenerate) return () => regenerateDerivedFiles(tree.root);
}

export default useCaseGenerator;
