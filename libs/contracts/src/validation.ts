import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import type { EventClass } from './contract';
import { fastInstance, fastValidation } from './compiled-validation';

export interface FieldError {
  /** Dotted path of the offending field, e.g. `endpoint.method`. */
  readonly field: string;
  readonly messages: readonly string[];
}

export type ValidationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly FieldError[] };

export class InvalidPayloadError extends Error {
  /** Bad data never gets better by retrying. */
  readonly retriable = false;
  constructor(
    readonly eventType: string,
    readonly errors: readonly FieldError[],
  ) {
    super(`Invalid ${eventType} payload: ${errors.map((e) => `${e.field} (${e.messages.join('; ')})`).join(', ')}`);
    this.name = 'InvalidPayloadError';
  }
}

export function flattenValidationErrors(errors: readonly ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, messages: Object.values(error.constraints) }] : [];
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/** Checks a plain value (parsed JSON) against an event's schema; unknown fields are errors. */
export function validateEvent<T extends object>(event: EventClass<T>, plain: unknown): ValidationResult<T> {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    return { ok: false, errors: [{ field: '(root)', messages: ['payload must be a JSON object'] }] };
  }
  const fast = fastValidation(event)?.(plain);
  if (fast?.valid) return { ok: true, value: fast.instance };
  // Invalid, or not decidable on the fast path: class-validator decides, with its messages.
  const instance = plainToInstance(event, plain);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length > 0) return { ok: false, errors: flattenValidationErrors(errors) };
  return { ok: true, value: instance };
}

/**
 * The typed instance of a payload that was validated before it was stored (a staged window
 * event, say): no second validation.
 */
export function instantiateEvent<T extends object>(event: EventClass<T>, validatedBefore: object): T {
  return fastInstance(event, validatedBefore) ?? plainToInstance(event, validatedBefore);
}

/** Like validateEvent, but throws InvalidPayloadError: for producers, where bad data is a bug. */
export function assertValidEvent<T extends object>(event: EventClass<T>, plain: unknown): T {
  const result = validateEvent(event, plain);
  if (!result.ok) throw new InvalidPayloadError(event.contract.type, result.errors);
  return result.value;
}
