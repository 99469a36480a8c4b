/**
 * The part of JSON Schema that Kubernetes structural CRD schemas use for the fields we write:
 * types, properties, required, enum, bounds, patterns, items and additionalProperties. Small
 * on purpose: the repository declares no JSON-schema validator, and this is all that is needed.
 */
export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface JsonSchema {
  readonly type?: JsonType | readonly JsonType[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  /** false: unknown keys are errors, as a Kubernetes API server with strict field validation rejects them. */
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly minItems?: number;
}

function typeOf(value: unknown): JsonType | 'null' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

function typeMatches(actual: JsonType | 'null', expected: JsonType): boolean {
  return actual === expected || (expected === 'number' && actual === 'integer');
}

/** Every violation, each as `<path>: <problem>`; empty when the value conforms. */
export function schemaErrors(schema: JsonSchema, value: unknown, path = '$'): string[] {
  const actual = typeOf(value);
  if (schema.type) {
    const expected = typeof schema.type === 'string' ? [schema.type] : schema.type;
    if (!expected.some((t) => typeMatches(actual, t))) return [`${path}: must be ${expected.join(' or ')}, got ${actual}`];
  }
  const errors: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: must be one of ${schema.enum.join(', ')}, got ${String(value)}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: must be >= ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: must be <= ${schema.maximum}, got ${value}`);
  }
  if (typeof value === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: must match ${schema.pattern}, got "${value}"`);
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${path}: must have at least ${schema.minItems} items`);
    if (schema.items) value.forEach((item, i) => errors.push(...schemaErrors(schema.items!, item, `${path}[${i}]`)));
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) errors.push(`${path}: ${key} is required`);
    for (const [key, child] of Object.entries(object)) {
      const property = schema.properties?.[key];
      if (property) errors.push(...schemaErrors(property, child, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unknown field ${key}`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...schemaErrors(schema.additionalProperties, child, `${path}.${key}`));
    }
  }
  return errors;
}
