import { TransformationType } from 'class-transformer';
import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';
import type { defaultMetadataStorage as TransformerMetadata } from 'class-transformer/types/storage';
import type { EventClass } from './contract';

/**
 * Whether a payload is valid, decided without class-validator's per-call work (reading and
 * grouping the class's metadata, building an error object per property) and without
 * class-transformer's walk: about 1 µs instead of 14 for a contract of five fields. The same
 * constraint functions run on the same values, so the verdict is class-validator's; the
 * validation spec compares the two on generated payloads. `undefined` when this path cannot
 * decide (a value it does not copy as class-transformer would, a promise from a validator):
 * the caller then asks class-validator, as it does for every invalid payload, for the errors.
 */
export type FastValidation<T> = (plain: object) => { readonly valid: boolean; readonly instance: T } | undefined;

interface PropertyCheck {
  readonly property: string;
  /** ValidateIf/IsOptional: the property is checked only when every one says so. */
  readonly conditions: readonly ((object: object, value: unknown) => boolean)[];
  readonly constraints: readonly Constraint[];
}

interface Constraint {
  readonly each: boolean;
  readonly arguments: readonly unknown[];
  validate(value: unknown, args: ValidationArguments): unknown;
}

const compiled = new WeakMap<EventClass, FastValidation<object> | null>();

/** The fast path for an event class, or null when its decorators need class-validator itself. */
export function fastValidation<T extends object>(event: EventClass<T>): FastValidation<T> | null {
  let fast = compiled.get(event as EventClass);
  if (fast === undefined) {
    fast = compile(event as EventClass);
    compiled.set(event as EventClass, fast);
  }
  return fast as FastValidation<T> | null;
}

/** plainToInstance(event, plain) without class-transformer's walk, where fastValidation would decide; else undefined. */
export function fastInstance<T extends object>(event: EventClass<T>, plain: object): T | undefined {
  return fastValidation(event) ? (instantiate(event as EventClass, plain) as T | undefined) : undefined;
}

function compile(event: EventClass): FastValidation<object> | null {
  const storage = getMetadataStorage();
  // As validateSync(instance, options) asks for them: no schema, no groups, `always` off.
  const metadatas = storage.getTargetValidationMetadatas(event, undefined as unknown as string, false, false, undefined);
  if (metadatas.length === 0) return null;
  if (hasTransformerMetadata(event, metadatas.map((m) => m.propertyName))) return null;
  // An object literal, as class-validator groups them: its whitelist check reads it the same way
  // (a key such as `hasOwnProperty` finds Object.prototype's function there, as it does in theirs).
  const grouped = storage.groupByPropertyName(metadatas) as Record<string, typeof metadatas>;
  const checks: PropertyCheck[] = [];
  for (const property of Object.keys(grouped)) {
    const conditions: PropertyCheck['conditions'][number][] = [];
    const defined: Constraint[] = [];
    const others: Constraint[] = [];
    for (const metadata of grouped[property]) {
      switch (metadata.type) {
        case ValidationTypes.WHITELIST:
          break;
        case ValidationTypes.CONDITIONAL_VALIDATION:
          conditions.push(metadata.constraints[0] as PropertyCheck['conditions'][number]);
          break;
        case ValidationTypes.CUSTOM_VALIDATION:
        case ValidationTypes.IS_DEFINED:
          for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
            if (constraint.async) return null;
            const into = metadata.type === ValidationTypes.IS_DEFINED ? defined : others;
            into.push({ each: metadata.each === true, arguments: metadata.constraints, validate: (value, args) => constraint.instance.validate(value, args) });
          }
          break;
        default:
          // Nested or promise validation: class-validator's recursion decides.
          return null;
      }
    }
    checks.push({ property, conditions, constraints: [...defined, ...others] });
  }
  const targetName = event.name;
  return (plain) => {
    const instance = instantiate(event, plain);
    if (instance === undefined) return undefined;
    for (const key of Object.keys(instance)) {
      if (!grouped[key] || grouped[key].length === 0) return { valid: false, instance };
    }
    for (const check of checks) {
      const value = (instance as Record<string, unknown>)[check.property];
      if (!check.conditions.every((condition) => condition(instance, value))) continue;
      for (const constraint of check.constraints) {
        const args: ValidationArguments = { targetName, property: check.property, object: instance, value, constraints: constraint.arguments as unknown[] };
        const valid = constraint.each && Array.isArray(value) ? value.every((item) => constraint.validate(item, args)) : constraint.validate(value, args);
        if (valid instanceof Promise) return undefined;
        if (!valid) return { valid: false, instance };
      }
    }
    return { valid: true, instance };
  };
}

/**
 * plainToInstance(event, plain) for what it copies unchanged (strings, numbers, booleans, null,
 * and arrays of those, into a new array), on a class without class-transformer decorators;
 * undefined for anything else (an object, a Date, a Set), which class-transformer converts.
 */
function instantiate(event: EventClass, plain: object): object | undefined {
  const instance = new event() as Record<string, unknown>;
  const prototype = event.prototype as object;
  for (const key of Object.keys(plain)) {
    if (key === '__proto__' || key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
    // class-transformer leaves getters without setters and methods alone.
    if ((descriptor && !descriptor.set) || instance[key] instanceof Function) continue;
    const value = (plain as Record<string, unknown>)[key];
    if (Array.isArray(value)) {
      if (!value.every(isCopiedAsIs)) return undefined;
      instance[key] = value.slice();
    } else if (isCopiedAsIs(value)) instance[key] = value;
    else return undefined;
  }
  return instance;
}

const isCopiedAsIs = (value: unknown): boolean => value === null || value === undefined || (typeof value !== 'object' && typeof value !== 'function');

/** Where class-transformer keeps its decorators' metadata: 0.5 exports no accessor, and types it apart from its CommonJS file. */
const transformerMetadata = (require('class-transformer/cjs/storage') as { defaultMetadataStorage: typeof TransformerMetadata }).defaultMetadataStorage;

function hasTransformerMetadata(event: EventClass, properties: readonly string[]): boolean {
  const storage = transformerMetadata;
  if (storage.getExposedMetadatas(event).length > 0 || storage.getExcludedMetadatas(event).length > 0) return true;
  return properties.some((property) => storage.findTypeMetadata(event, property) !== undefined || storage.findTransformMetadatas(event, property, TransformationType.PLAIN_TO_CLASS).length > 0);
}
