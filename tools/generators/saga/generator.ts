import { generateFiles, type GeneratorCallback, type Tree } from '@nx/devkit';
import path from 'node:path';
import { spellings } from '../shared/naming';
import { regenerateDerivedFiles } from '../shared/regenerate';
import { assertRegisteredEvent, registerUseCase, serviceRoot } from '../shared/register';

export interface SagaOptions {
  readonly name: string;
  readonly service: string;
  readonly event: string;
  readonly skipRegenerate?: boolean;
}

/** A saga (README "Sagas"): pure decide/evolve run by libs/messaging, its own consumer group, and its sagaSpecification spec. */
export async function sagaGenerator(tree: Tree, options: SagaOptions): Promise<GeneratorCallback | void> {
  const root = serviceRoot(tree, options.service);
  const { kebab, pascal, snake } = spellings(options.name);
  assertRegisteredEvent(tree, options.event);
  const target = `${root}/src/${kebab}`;
  if (tree.exists(target)) throw new Error(`${target} already exists`);
  generateFiles(tree, path.join(__dirname, 'files'), target, { tmpl: '', kebab, pascal, constant: snake.toUpperCase(), event: options.event, service: options.service });
  registerUseCase(tree, options.service, `${pascal}Saga`, `./${kebab}/${kebab}.saga`);
  if (!options.skipRegenerate) return () => regenerateDerivedFiles(tree.root);
}

export default sagaGenerator;
