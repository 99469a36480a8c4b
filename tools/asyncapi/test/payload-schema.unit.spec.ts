/// <reference types="jest" />
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { defineEvent, EndpointUpdated, EVENT_REGISTRY, NotificationSent, TemplateUpdated, UserCreated, validateEvent, type EventClass } from '@platform/contracts';
import { IsString, IsUUID, Validate, ValidateNested, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { keyFields } from '../message-key';
import { payloadSchema } from '../payload-schema';

const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));

/** Variations of a valid payload that probe each field: missing, null, of another type, an unknown field. */
function probes(valid: Record<string, unknown>, fields: readonly string[]): [string, unknown][] {
  return [
    ['the valid example', valid],
    ['an unknown field', { ...valid, surprise: true }],
    ...fields.flatMap((field): [string, unknown][] => {
      const { [field]: _dropped, ...without } = valid;
      return [
        [`${field} missing`, without],
        [`${field} null`, { ...valid, [field]: null }],
        [`${field} a number`, { ...valid, [field]: 42 }],
        [`${field} 1.5`, { ...valid, [field]: 1.5 }],
        [`${field} a short string`, { ...valid, [field]: 'x' }],
        [`${field} an empty string`, { ...valid, [field]: '' }],
        [`${field} an object`, { ...valid, [field]: {} }],
      ];
    }),
  ];
}

describe('payload JSON Schemas derived from the class-validator rules', () => {
  describe.each(EVENT_REGISTRY.map((e) => [`${e.contract.type} v${e.contract.version}`, e] as const))('%s', (_name, event) => {
    const schema = payloadSchema(event);
    const check = ajv.compile(schema);

    it('refuses its invalid example, as validateEvent does', () => {
      expect(check(event.contract.examples.invalid)).toBe(false);
      expect(validateEvent(event, event.contract.examples.invalid).ok).toBe(false);
    });

    it('accepts and refuses exactly what validateEvent does, field by field', () => {
      const valid = event.contract.examples.valid as Record<string, unknown>;
      const disagreements = probes(valid, Object.keys(schema.properties ?? {}))
        .map(([probe, value]) => ({ probe, schema: check(value), classValidator: validateEvent(event, value).ok }))
        .filter((verdict) => verdict.schema !== verdict.classValidator);
      expect(disagreements).toEqual([]);
    });
  });

  it('lets an optional field be absent or null, as IsOptional does', () => {
    const schema = payloadSchema(NotificationSent);
    expect(schema.required).not.toContain('templateId');
    expect(schema.properties?.['templateId']).toMatchObject({ type: ['string', 'null'], format: 'uuid' });
  });

  it('refuses a rule it has no JSON Schema for, rather than describe a wider payload than the code accepts', () => {
    @ValidatorConstraint({ name: 'isEvenLength' })
    class IsEvenLength implements ValidatorConstraintInterface {
      validate(value: unknown): boolean {
        return typeof value === 'string' && value.length % 2 === 0;
      }
    }
    class Odd {
      static readonly contract = defineEvent(Odd, { type: 'orders.odd', version: 1, key: (e) => e.id, description: 'x', examples: { valid: { id: 'a', code: 'ab' }, invalid: {} } });
      @IsUUID() id!: string;
      @IsString() @Validate(IsEvenLength) code!: string;
    }
    expect(() => payloadSchema(Odd as EventClass)).toThrow(/orders\.odd v1: no JSON Schema for the rules code: isEvenLength/);
  });
});

describe('payloadSchema on nested classes', () => {
  it('refuses them until the document carries their schemas', () => {
    class Line {
      @IsString() sku!: string;
    }
    class Basket {
      static readonly contract = defineEvent(Basket, { type: 'orders.basket', version: 1, key: (e) => e.id, description: 'x', examples: { valid: { id: 'a', line: { sku: 'b' } }, invalid: {} } });
      @IsUUID() id!: string;
      @ValidateNested() line!: Line;
    }
    expect(() => payloadSchema(Basket as EventClass)).toThrow(/orders\.basket v1: nested payload classes are not supported/);
  });
});

describe('keyFields', () => {
  it('finds the payload fields a contract keys its events by', () => {
    expect(keyFields(UserCreated)).toEqual(['userId']);
    expect(keyFields(EndpointUpdated)).toEqual(['apiId']);
    expect(keyFields(TemplateUpdated)).toEqual(['templateId']);
    class Pair {
      static readonly contract = defineEvent(Pair, { type: 'orders.pair', version: 1, key: (e) => `${e.a}:${e.b}`, description: 'x', examples: { valid: { a: '1', b: '2' }, invalid: {} } });
      @IsString() a!: string;
      @IsString() b!: string;
    }
    expect(keyFields(Pair as EventClass)).toEqual(['a', 'b']);
  });

  it('refuses a key function that reads no payload field', () => {
    class Constant {
      static readonly contract = defineEvent(Constant, { type: 'orders.constant', version: 1, key: () => 'all', description: 'x', examples: { valid: { a: '1' }, invalid: {} } });
      @IsString() a!: string;
    }
    expect(() => keyFields(Constant as EventClass)).toThrow(/orders\.constant v1: its key function reads no payload field/);
  });
});
