import { generateFiles, updateJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import path from 'node:path';
import { assertServiceName } from '../shared/naming';
import { regenerateDerivedFiles } from '../shared/regenerate';
import { addBeforeConsole, addCatalogEntry, addComposeService, addDockerfileService, addLockfileWorkspace, addOverlays } from './deployment-entries';

export interface ServiceOptions {
  readonly name: string;
  readonly port: number;
  readonly skipRegenerate?: boolean;
}

const CATALOG = 'tools/platform/services.json';

interface Catalog {
  services: { name: string; port: number }[];
  console: { name: string; port: number };
}

/**
 * A service like apps/templates, and everything the platform derives per service. The catalog
 * entry is what makes it exist for `npm start`, the end-to-end harness (database and two roles
 * each) and tools/deploy (image, topics, ACLs, CloudNativePG cluster, kustomize base), which the
 * callback regenerates.
 */
export async function serviceGenerator(tree: Tree, options: ServiceOptions): Promise<GeneratorCallback | void> {
  const { name, port } = options;
  assertServiceName(name);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) throw new Error(`--port must be an integer from 1024 to 65535, got ${port}`);
  const catalog = JSON.parse(tree.read(CATALOG, 'utf-8') ?? '{}') as Catalog;
  const taken = [...catalog.services, catalog.console];
  const clash = taken.find((s) => s.name === name || s.port === port);
  if (clash) throw new Error(`${CATALOG} already has ${clash.name}:${clash.port}`);
  if (tree.exists(`apps/${name}`)) throw new Error(`apps/${name} already exists`);

  const initId = `${Date.now()}-${name}-init`;
  const initConstant = `${name.toUpperCase()}_INIT`;
  const title = name.charAt(0).toUpperCase() + name.slice(1);
  generateFiles(tree, path.join(__dirname, 'files'), `apps/${name}`, { tmpl: '', name, port, title, initId, initConstant });

  addCatalogEntry(tree, name, port);
  // Nx rebuilds and retests what derives from a service when it changes.
  updateJson(tree, 'tools/project.json', (json: { implicitDependencies: string[] }) => ({ ...json, implicitDependencies: [...json.implicitDependencies, name] }));
  // The end-to-end platform starts every catalog service from its build output.
  addBeforeConsole(tree, 'apps/platform-e2e/project.json', name);
  addLockfileWorkspace(tree, name);
  addComposeService(tree, name, port);
  addDockerfileService(tree, name);
  addOverlays(tree, name);
  if (!options.skipRegenerate) return () => regenerateDerivedFiles(tree.root);
}

export default serviceGenerator;
