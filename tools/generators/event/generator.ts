import { type GeneratorCallback, type Tree } from '@nx/devkit';
import { assertServiceName, spellings } from '../shared/naming';
import { regenerateDerivedFiles } from '../shared/regenerate';
import { appendToArray, declaresClass, ensureNamedImport, instanceProperties, keyField } from '../shared/source-edits';

export interface EventOptions {
  readonly name: string;
  readonly service: string;
  readonly eventVersion?: number;
  readonly key?: string;
  readonly description?: string;
  readonly skipRegenerate?: boolean;
}

const CONTRACTS = 'libs/contracts/src';
const REGISTRY = `${CONTRACTS}/registry.ts`;
const INDEX = `${CONTRACTS}/index.ts`;

const classFor = (pascal: string, version: number) => (version === 1 ? pascal : `${pascal}V${version}`);

function read(tree: Tree, file: string): string {
  const text = tree.read(file, 'utf-8');
  if (text === null) throw new Error(`${file} does not exist`);
  return text;
}

/** A new, valid-by-example contract: the key field only; add the event's own fields and examples. */
function firstVersion(className: string, type: string, key: string, description: string): string {
  return `
export class ${className} {
  static readonly contract: EventContract<${className}> = defineEvent(${className}, {
    type: '${type}',
    version: 1,
    key: (e) => e.${key},
    description: '${description.replace(/'/g, "\\'")}',
    examples: {
      valid: { ${key}: '0b3f6a52-3c1e-4c9e-8a55-6f2d0a3f7b21' },
      invalid: { ${key}: 'not-a-uuid' },
    },
  });

  @IsUUID() ${key}!: string;
}
`;
}

/**
 * The next version, on its own topic, as a copy of the previous one: what README's "When a keyed
 * topic needs more partitions" starts from. Change its shape and its upcaster together.
 */
function nextVersion(className: string, previous: string, type: string, version: number, key: string, description: string, properties: string[]): string {
  return `
export class ${className} {
  static readonly contract: EventContract<${className}> = defineEvent(${className}, {
    type: '${type}',
    version: ${version},
    key: (e) => e.${key},
    description: '${description.replace(/'/g, "\\'")}',
    examples: {
      valid: { ...${previous}.contract.examples.valid },
      invalid: { ...${previous}.contract.examples.invalid },
    },
    // Pure: the same answer for ever. A copy while the shape is the same; say here what old events mean once it changes.
    upcastFrom: { event: ${previous}, upcast: (previous) => ({ ...previous }) },
  });

${properties.map((p) => `  ${p}`).join('\n')}
}
`;
}

export async function eventGenerator(tree: Tree, options: EventOptions): Promise<GeneratorCallback | void> {
  assertServiceName(options.service);
  const { kebab, pascal } = spellings(options.name);
  const version = options.eventVersion ?? 1;
  if (!Number.isInteger(version) || version < 1) throw new Error(`--eventVersion must be a positive integer, got ${version}`);
  const type = `${options.service}.${kebab}`;
  const className = classFor(pascal, version);
  const eventsFile = `${CONTRACTS}/events/${options.service}.events.ts`;
  const declarationFile = `apps/${options.service}/src/service.declaration.ts`;
  if (!tree.exists(declarationFile)) throw new Error(`${declarationFile} does not exist: the publisher must be a service of this workspace (an event belongs to its publisher's domain)`);
  const description = options.description ?? `${kebab.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase())}: published by ${options.service}.`;

  let events = tree.exists(eventsFile) ? read(tree, eventsFile) : `import { IsUUID } from 'class-validator';\nimport { defineEvent, EventContract } from '../contract';\n`;
  if (declaresClass(eventsFile, events, className)) throw new Error(`${eventsFile} already declares ${className}`);
  if (version === 1) {
    const key = options.key ?? `${kebab.split('-')[0]}Id`;
    events = ensureNamedImport(eventsFile, events, 'class-validator', 'IsUUID');
    events += firstVersion(className, type, key, description);
  } else {
    const previous = classFor(pascal, version - 1);
    if (!declaresClass(eventsFile, events, previous)) throw new Error(`${eventsFile} has no ${previous}: version ${version} upcasts from version ${version - 1} of ${type}`);
    const key = options.key ?? keyField(eventsFile, events, previous);
    if (!key) throw new Error(`cannot tell ${previous}'s key field: pass --key`);
    events += nextVersion(className, previous, type, version, key, description, instanceProperties(eventsFile, events, previous));
  }
  events = ensureNamedImport(eventsFile, events, '../contract', 'defineEvent');
  events = ensureNamedImport(eventsFile, events, '../contract', 'EventContract');
  if (!tree.exists(eventsFile)) {
    const index = read(tree, INDEX);
    const exportLine = `export * from './events/${options.service}.events';\n`;
    if (!index.includes(exportLine)) tree.write(INDEX, index + exportLine);
  }
  tree.write(eventsFile, events);

  let registry = read(tree, REGISTRY);
  registry = ensureNamedImport(REGISTRY, registry, `./events/${options.service}.events`, className);
  tree.write(REGISTRY, appendToArray(REGISTRY, registry, 'EVENT_REGISTRY', className));

  let declaration = read(tree, declarationFile);
  declaration = ensureNamedImport(declarationFile, declaration, '@platform/contracts', className);
  tree.write(declarationFile, appendToArray(declarationFile, declaration, 'publishes', className));

  if (!options.skipRegenerate) return () => regenerateDerivedFiles(tree.root);
}

export default eventGenerator;
