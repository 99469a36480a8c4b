import type { EventClass } from '@platform/contracts';
import { getMetadataStorage, IS_URL, ValidationTypes } from 'class-validator';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import { defaultConverters, type ISchemaConverters } from 'class-validator-jsonschema/build/defaultConverters';
import { typesOf, type JsonSchema, type JsonType } from './json-schema';

/** Where class-validator-jsonschema's defaults differ from what our rules mean on the wire. */
const CONVERTERS: ISchemaConverters = {
  // 'url' is no JSON Schema format; IsUrl with require_protocol is an absolute URI.
  [IS_URL]: { type: 'string', format: 'uri' },
};

/** Rules that shape no value of their own: optional, whitelist. */
const SCHEMALESS = new Set<string>([ValidationTypes.CONDITIONAL_VALIDATION, ValidationTypes.WHITELIST]);

/**
 * The JSON Schema of an event's payload, derived from its class-validator rules with
 * class-validator-jsonschema, made to accept exactly what `validateEvent` accepts: unknown
 * fields are refused (`additionalProperties: false`, validateEvent forbids them) and an
 * optional field may also be null (IsOptional skips a null value). A rule the converter does
 * not know would silently widen the schema, so it fails the generation instead.
 */
export function payloadSchema(event: EventClass): JsonSchema {
  const converters = { ...defaultConverters, ...CONVERTERS };
  const storage = getMetadataStorage();
  // What the converter looks a rule up by: its type, or for a decorator built on a constraint
  // class (IsUUID, Length, ...) that constraint's name.
  const rules = storage
    .getTargetValidationMetadatas(event, '', true, false)
    .map((rule) => ({ field: rule.propertyName, name: (rule.constraintCls && storage.getTargetValidatorConstraints(rule.constraintCls)[0]?.name) || rule.type }));
  const unknown = rules.filter((rule) => !SCHEMALESS.has(rule.name) && !(rule.name in converters));
  if (unknown.length > 0) {
    const names = unknown.map((rule) => `${rule.field}: ${rule.name}`).join(', ');
    throw new Error(`${event.contract.type} v${event.contract.version}: no JSON Schema for the rules ${names}; add a converter in tools/asyncapi/payload-schema.ts`);
  }
  const derived = targetConstructorToSchema(event, { additionalConverters: CONVERTERS }) as JsonSchema;
  if (JSON.stringify(derived).includes('"$ref"')) {
    throw new Error(`${event.contract.type} v${event.contract.version}: nested payload classes are not supported by the AsyncAPI generator yet`);
  }
  const required = new Set(derived.required ?? []);
  const properties = Object.fromEntries(
    Object.entries(derived.properties ?? {}).map(([name, schema]) => [name, required.has(name) ? schema : nullable(schema)]),
  );
  return { type: 'object', properties, required: [...required], additionalProperties: false };
}

function nullable(schema: JsonSchema): JsonSchema {
  const types = typesOf(schema);
  return {
    ...schema,
    ...(types && !types.includes('null') ? { type: [...types, 'null'] as JsonType[] } : {}),
    ...(schema.enum && !schema.enum.includes(null) ? { enum: [...schema.enum, null] } : {}),
  };
}
