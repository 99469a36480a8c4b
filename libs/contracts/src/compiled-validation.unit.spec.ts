import fc from 'fast-check';
import { plainToInstance } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Min, ValidateNested, validateSync } from 'class-validator';
import type { EventClass } from './contract';
import { fastInstance, fastValidation } from './compiled-validation';
import { EVENT_REGISTRY } from './registry';
import { validateEvent } from './validation';

/** class-validator's own verdict and instance, as validateEvent got them before the fast path. */
function reference(event: EventClass, plain: object): { valid: boolean; instance: object } {
  const instance = plainToInstance(event, plain) as object;
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  return { valid: errors.length === 0, instance };
}

/** A field's value: of every JSON kind, and the edge strings the contracts' rules look at. */
const anyValue = fc.oneof(
  fc.jsonValue(),
  fc.uuid(),
  fc.emailAddress(),
  fc.webUrl(),
  fc.constantFrom('', ' ', 'email', 'webhook', 'GET', 'POST', '/a', 'x'.repeat(300), '00000000-0000-0000-0000-000000000000'),
  fc.integer({ min: -5, max: 5 }),
  fc.array(fc.uuid(), { maxLength: 3 }),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.constant(undefined),
);

/** A payload near a contract's examples: fields replaced, removed or added, some of them odd names. */
function payloadsOf(event: EventClass): fc.Arbitrary<Record<string, unknown>> {
  const { valid, invalid } = event.contract.examples;
  const base = fc.constantFrom<Record<string, unknown>>({ ...(valid as object) }, { ...invalid });
  const known = [...new Set([...Object.keys(valid as object), ...Object.keys(invalid)])];
  const name = fc.oneof(fc.constantFrom(...known), fc.constantFrom('extra', 'hasOwnProperty', 'toString', 'constructor', '__proto__'), fc.string({ maxLength: 8 }));
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), name, value: anyValue }),
    fc.record({ kind: fc.constant('delete' as const), name: fc.constantFrom(...known) }),
  );
  return fc.tuple(base, fc.array(edit, { maxLength: 3 })).map(([payload, edits]) => {
    const edited = { ...payload };
    for (const e of edits) {
      if (e.kind === 'delete') delete edited[e.name];
      else Object.defineProperty(edited, e.name, { value: e.value, enumerable: true, configurable: true, writable: true });
    }
    return edited;
  });
}

describe('fast validation: class-validator verdicts without its per-call cost', () => {
  it('compiles every contract of the registry', () => {
    for (const event of EVENT_REGISTRY) expect({ type: event.contract.type, compiled: fastValidation(event) !== null }).toEqual({ type: event.contract.type, compiled: true });
  });

  it.each(EVENT_REGISTRY.map((event) => [event.contract.type + ' v' + event.contract.version, event] as const))(
    '%s: the same verdict and the same instance as class-validator on generated payloads',
    (_name, event) => {
      let decided = 0;
      fc.assert(
        fc.property(payloadsOf(event), (plain) => {
          const fast = fastValidation(event)!(plain);
          const expected = reference(event, plain);
          if (fast === undefined) return;
          decided += 1;
          expect(fast.valid).toBe(expected.valid);
          expect(Object.getPrototypeOf(fast.instance)).toBe(event.prototype);
          expect({ ...fast.instance }).toEqual({ ...expected.instance });
        }),
        { numRuns: 400 },
      );
      // Most payloads are JSON the fast path copies; a run that decided none tested nothing.
      expect(decided).toBeGreaterThan(200);
    },
  );

  it('gives the examples the verdicts their contracts state', () => {
    for (const event of EVENT_REGISTRY) {
      expect(fastValidation(event)!(event.contract.examples.valid as object)?.valid).toBe(true);
      expect(fastValidation(event)!(event.contract.examples.invalid)?.valid).toBe(false);
    }
  });

  it('instantiates a stored payload as class-transformer does', () => {
    for (const event of EVENT_REGISTRY) {
      const plain = event.contract.examples.valid as object;
      const instance = fastInstance(event, plain)!;
      expect(Object.getPrototypeOf(instance)).toBe(event.prototype);
      expect({ ...instance }).toEqual({ ...(plainToInstance(event, plain) as object) });
    }
  });

  it('leaves to class-validator what it cannot copy or check as class-validator does', () => {
    class Inner {
      @IsString() name!: string;
    }
    class WithNested {
      @ValidateNested() inner!: Inner;
    }
    class Plain {
      @IsOptional() @IsInt() @Min(1) count?: number;
      @IsString() @Length(1, 3) code!: string;
    }
    expect(fastValidation(WithNested as unknown as EventClass)).toBeNull();
    const plain = fastValidation(Plain as unknown as EventClass)!;
    // A nested object or a Date is converted by class-transformer: not decided here.
    expect(plain({ code: 'ab', count: { n: 1 } })).toBeUndefined();
    expect(plain({ code: new Date() })).toBeUndefined();
    expect(plain({ code: 'ab' })).toMatchObject({ valid: true });
    expect(plain({ code: 'ab', count: null })).toMatchObject({ valid: true });
    expect(plain({ code: 'ab', count: 0 })).toMatchObject({ valid: false });
    expect(plain({ code: 'abcd' })).toMatchObject({ valid: false });
    expect(plain({ code: 'ab', other: 1 })).toMatchObject({ valid: false });
  });

  it('still reports class-validator errors for a payload the fast path refused', () => {
    const [event] = EVENT_REGISTRY;
    const result = validateEvent(event, { ...(event.contract.examples.valid as object), unexpected: 1 });
    expect(result).toMatchObject({ ok: false, errors: [{ field: 'unexpected', messages: ['property unexpected should not exist'] }] });
  });
});
