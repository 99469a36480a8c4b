import type { EventClass } from '@platform/contracts';
import type { ServiceDeclaration } from '@platform/service-kit';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, SERVICE_CATALOG } from '../paths';

/** What deployment needs to know about a service, read from its own declaration. */
export interface ServiceModel {
  readonly name: string;
  readonly port: number;
  readonly publishes: readonly EventClass[];
  readonly useCases: readonly { readonly name: string; readonly kind: UseCaseKind; readonly events: readonly EventClass[] }[];
}

/** How a use case handles its events: one by one, in windows, or as a saga's instances. */
export type UseCaseKind = 'events' | 'windows' | 'saga';

interface Catalog {
  readonly services: readonly { readonly name: string; readonly port: number }[];
  readonly console: { readonly name: string; readonly port: number };
}

const readCatalog = (root: string): Catalog => JSON.parse(readFileSync(path.join(root, SERVICE_CATALOG), 'utf8')) as Catalog;

export function catalogServices(root = REPO_ROOT): Catalog['services'] {
  return readCatalog(root).services;
}

/** The console: deployed beside the services, with no database and no consumer group of its own. */
export function catalogConsole(root = REPO_ROOT): Catalog['console'] {
  return readCatalog(root).console;
}

/**
 * The services of the catalog with what each declares in `apps/<name>/src/service.declaration.ts`.
 * Loaded by path at run time because tools may not import apps statically (module boundaries);
 * use cases are instantiated only to read their `name` and `events`.
 */
export async function loadServices(root = REPO_ROOT): Promise<ServiceModel[]> {
  const models: ServiceModel[] = [];
  for (const entry of catalogServices(root)) {
    const file = path.join(root, 'apps', entry.name, 'src', 'service.declaration.ts');
    const { DECLARATION } = (await import(file)) as { DECLARATION: ServiceDeclaration };
    if (DECLARATION.service !== entry.name || DECLARATION.defaultPort !== entry.port) {
      throw new Error(
        `${SERVICE_CATALOG} says ${entry.name}:${entry.port} but ${path.relative(root, file)} declares ${DECLARATION.service}:${DECLARATION.defaultPort}`,
      );
    }
    const useCases = (DECLARATION.useCases ?? []).map((UseCaseClass) => {
      const useCase = new UseCaseClass();
      const kind: UseCaseKind = 'window' in useCase ? 'windows' : 'correlate' in useCase ? 'saga' : 'events';
      return { name: useCase.name, kind, events: [...useCase.events] };
    });
    models.push({ name: entry.name, port: entry.port, publishes: [...DECLARATION.publishes], useCases });
  }
  return models;
}
