/**
 * The JSON Schema the AsyncAPI document carries (draft-07, AsyncAPI's default schema format):
 * only what payloads derived from class-validator rules and the CloudEvents headers need.
 */
export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface JsonSchema {
  readonly type?: JsonType | readonly JsonType[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly format?: string;
  readonly pattern?: string;
  readonly description?: string;
  readonly [keyword: string]: unknown;
}

/** The types a schema allows, or undefined when it does not restrict the type. */
export function typesOf(schema: JsonSchema): readonly JsonType[] | undefined {
  if (schema.type === undefined) return undefined;
  return typeof schema.type === 'string' ? [schema.type] : schema.type;
}
