import { typesOf, type JsonSchema, type JsonType } from '../json-schema';

/** One way a schema came to refuse a value it used to accept. */
export interface Narrowing {
  /** Dotted path of the field (`endpoint.method`, `tags[]`); empty for the value itself. */
  readonly field: string;
  readonly change: string;
}

/** Words that describe and constrain nothing. */
const ANNOTATIONS = new Set(['title', 'description', 'examples', 'default', '$comment', 'deprecated', 'readOnly', 'writeOnly']);
/** Keywords compared below; any other constraint that appears or changes is refused, unproven. */
const COMPARED = new Set([
  'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items', 'format', 'pattern',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'multipleOf',
]);
const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems'] as const;
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems'] as const;

const show = (value: unknown): string => JSON.stringify(value);
const join = (path: string, name: string): string => (path ? `${path}.${name}` : name);
const accepts = (types: readonly JsonType[], type: JsonType): boolean => types.includes(type) || (type === 'integer' && types.includes('number'));
const allowedValues = (schema: JsonSchema): readonly unknown[] | undefined => schema.enum ?? ('const' in schema ? [schema.const] : undefined);
const sameValue = (a: unknown, b: unknown): boolean => show(a) === show(b);

function typeNarrowing(before: JsonSchema, after: JsonSchema): string | undefined {
  const was = typesOf(before);
  const now = typesOf(after);
  if (!now) return undefined;
  if (!was) return `type restricted to ${now.join(' | ')}`;
  const lost = was.filter((type) => !accepts(now, type));
  return lost.length > 0 ? `type ${was.join(' | ')} → ${now.join(' | ')} (${lost.join(', ')} no longer accepted)` : undefined;
}

function valueNarrowing(before: JsonSchema, after: JsonSchema): string | undefined {
  const now = allowedValues(after);
  if (!now) return undefined;
  const was = allowedValues(before);
  if (!was) return `now limited to ${now.map(show).join(', ')}`;
  const lost = was.filter((value) => !now.some((allowed) => sameValue(allowed, value)));
  return lost.length > 0 ? `no longer allows ${lost.map(show).join(', ')}` : undefined;
}

function boundNarrowings(before: JsonSchema, after: JsonSchema): string[] {
  const changes: string[] = [];
  const bound = (schema: JsonSchema, keyword: string) => schema[keyword] as number | undefined;
  for (const keyword of LOWER_BOUNDS) {
    const was = bound(before, keyword);
    const now = bound(after, keyword);
    if (now !== undefined && (was === undefined || now > was)) changes.push(was === undefined ? `${keyword} ${now} added` : `${keyword} raised from ${was} to ${now}`);
  }
  for (const keyword of UPPER_BOUNDS) {
    const was = bound(before, keyword);
    const now = bound(after, keyword);
    if (now !== undefined && (was === undefined || now < was)) changes.push(was === undefined ? `${keyword} ${now} added` : `${keyword} lowered from ${was} to ${now}`);
  }
  return changes;
}

function formatNarrowings(before: JsonSchema, after: JsonSchema): string[] {
  const changes: string[] = [];
  for (const keyword of ['pattern', 'format'] as const) {
    const now = after[keyword];
    if (now !== undefined && now !== before[keyword]) changes.push(before[keyword] === undefined ? `${keyword} ${show(now)} added` : `${keyword} ${show(before[keyword])} → ${show(now)}`);
  }
  const multipleNow = after['multipleOf'] as number | undefined;
  const multipleWas = before['multipleOf'] as number | undefined;
  if (multipleNow !== undefined && (multipleWas === undefined || multipleWas % multipleNow !== 0)) changes.push(`multipleOf ${multipleNow}`);
  if (after['uniqueItems'] === true && before['uniqueItems'] !== true) changes.push('items must now be unique');
  return changes;
}

function unprovenChanges(before: JsonSchema, after: JsonSchema): string[] {
  return Object.keys(after)
    .filter((keyword) => !COMPARED.has(keyword) && !ANNOTATIONS.has(keyword) && !keyword.startsWith('x-'))
    .filter((keyword) => !sameValue(before[keyword], after[keyword]))
    .map((keyword) => `${keyword} changed (cannot prove it still accepts every earlier value)`);
}

function objectNarrowings(before: JsonSchema, after: JsonSchema, path: string): Narrowing[] {
  const found: Narrowing[] = [];
  const was = before.properties ?? {};
  const now = after.properties ?? {};
  const wasRequired = new Set(before.required ?? []);
  for (const name of Object.keys(was)) {
    if (!(name in now)) found.push({ field: join(path, name), change: 'removed (or renamed): consumers still read it, and events already written carry it' });
    else found.push(...schemaNarrowings(was[name], now[name], join(path, name)));
  }
  for (const name of after.required ?? []) {
    if (wasRequired.has(name)) continue;
    found.push({ field: join(path, name), change: name in was ? 'optional → required' : 'added as required: events already written lack it' });
  }
  if (after.additionalProperties === false && before.additionalProperties !== false) found.push({ field: path, change: 'unknown fields now refused' });
  if (typeof after.additionalProperties === 'object') {
    const earlier = typeof before.additionalProperties === 'object' ? before.additionalProperties : {};
    found.push(...schemaNarrowings(earlier, after.additionalProperties, join(path, '*')));
  }
  return found;
}

/**
 * Every way `after` refuses a value `before` accepted: a structural check over the JSON Schema
 * the contracts produce. An unchanged schema, a widened one (a new optional field, a looser
 * bound, a type or enum value more) yields nothing. What it cannot compare it refuses.
 */
export function schemaNarrowings(before: JsonSchema, after: JsonSchema, path = ''): Narrowing[] {
  const type = typeNarrowing(before, after);
  if (type) return [{ field: path, change: type }];
  const own = [valueNarrowing(before, after), ...boundNarrowings(before, after), ...formatNarrowings(before, after), ...unprovenChanges(before, after)]
    .filter((change): change is string => change !== undefined)
    .map((change) => ({ field: path, change }));
  const nested = [...objectNarrowings(before, after, path)];
  if (after.items) nested.push(...schemaNarrowings(before.items ?? {}, after.items, `${path}[]`));
  return [...own, ...nested];
}
