/// <reference types="jest" />
import { defineEvent, type EventClass, type EventSpec } from '@platform/contracts';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, IsUUID, Length, Matches, MaxLength, Min } from 'class-validator';
import type { ServiceModel } from '../../deploy/catalog/load-services';
import { breakingChanges, describeBreakingChange } from '../compat/breaking-changes';
import { eventSurfaces } from '../compat/event-surface';
import { schemaNarrowings } from '../compat/schema-narrowings';
import { asyncApiDocument } from '../document';
import type { JsonSchema } from '../json-schema';
import { parseAsyncApi, renderAsyncApi } from '../render';

/**
 * Each change is a real contract class, taken through the whole path: class-validator rules,
 * the generated document as committed (rendered and parsed again), and the comparison.
 */
const valid = { orderId: '9f1c2a6e-3b7d-4c1e-8f20-5a6b7c8d9e01', customerId: '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10', total: 12.5, quantity: 1, currency: 'EUR', status: 'new', reference: 'A-1' };
interface Overrides<T> {
  readonly version?: number;
  readonly partitions?: number;
  readonly description?: string;
  readonly key?: (e: T) => string;
}
/** The contract of orders.order-placed v1, keyed by order, but for the overrides. */
function spec<T extends { orderId: string }>(overrides: Overrides<T> = {}): EventSpec<T> {
  return { type: 'orders.order-placed', version: 1, key: (e) => e.orderId, description: 'An order was placed.', examples: { valid: valid as unknown as T, invalid: {} }, ...overrides };
}

class OrderPlaced {
  static readonly contract = defineEvent(OrderPlaced, spec());
  @IsUUID() orderId!: string;
  @IsUUID() customerId!: string;
  @IsNumber() @Min(0) total!: number;
  @IsInt() @Min(1) quantity!: number;
  @IsString() @Length(3, 3) currency!: string;
  @IsIn(['new', 'paid']) status!: string;
  @IsString() reference!: string;
  @IsOptional() @IsString() @MaxLength(500) note?: string;
}

// One class per change. A change that adds a rule or a field extends OrderPlaced (class-validator
// applies the rules of both); one that removes or replaces a rule repeats the class with it changed.
class NoteRemoved {
  static readonly contract = defineEvent(NoteRemoved, spec());
  @IsUUID() orderId!: string;
  @IsUUID() customerId!: string;
  @IsNumber() @Min(0) total!: number;
  @IsInt() @Min(1) quantity!: number;
  @IsString() @Length(3, 3) currency!: string;
  @IsIn(['new', 'paid']) status!: string;
  @IsString() reference!: string;
}
class CustomerRenamed {
  static readonly contract = defineEvent(CustomerRenamed, spec());
  @IsUUID() orderId!: string;
  @IsUUID() buyerId!: string;
  @IsNumber() @Min(0) total!: number;
  @IsInt() @Min(1) quantity!: number;
  @IsString() @Length(3, 3) currency!: string;
  @IsIn(['new', 'paid']) status!: string;
  @IsString() reference!: string;
  @IsOptional() @IsString() @MaxLength(500) note?: string;
}
class CurrencyEnum extends OrderPlaced {
  static override readonly contract = defineEvent(CurrencyEnum, spec());
  @IsIn(['EUR', 'USD']) declare currency: string;
}
class TotalInteger {
  static readonly contract = defineEvent(TotalInteger, spec());
  @IsUUID() orderId!: string;
  @IsUUID() customerId!: string;
  @IsInt() @Min(0) total!: number;
  @IsInt() @Min(1) quantity!: number;
  @IsString() @Length(3, 3) currency!: string;
  @IsIn(['new', 'paid']) status!: string;
  @IsString() reference!: string;
  @IsOptional() @IsString() @MaxLength(500) note?: string;
}
class ReferenceMaxLength extends OrderPlaced {
  static override readonly contract = defineEvent(ReferenceMaxLength, spec());
  @MaxLength(40) declare reference: string;
}
class ReferencePattern extends OrderPlaced {
  static override readonly contract = defineEvent(ReferencePattern, spec());
  @Matches(/^[A-Z]-\d+$/) declare reference: string;
}
class NoteRequired {
  static readonly contract = defineEvent(NoteRequired, spec());
  @IsUUID() orderId!: string;
  @IsUUID() customerId!: string;
  @IsNumber() @Min(0) total!: number;
  @IsInt() @Min(1) quantity!: number;
  @IsString() @Length(3, 3) currency!: string;
  @IsIn(['new', 'paid']) status!: string;
  @IsString() reference!: string;
  @IsString() @MaxLength(500) note!: string;
}
class ChannelRequired extends OrderPlaced {
  static override readonly contract = defineEvent(ChannelRequired, spec());
  @IsString() channel!: string;
}
class StatusValueRemoved {
  static readonly contract = defineEvent(StatusValueRemoved, spec());
  @IsUUID() orderId!: string;
  @IsUUID() customerId!: string;
  @IsNumber() @Min(0) total!: number;
  @IsInt() @Min(1) quantity!: number;
  @IsString() @Length(3, 3) currency!: string;
  @IsIn(['new']) status!: string;
  @IsString() reference!: string;
  @IsOptional() @IsString() @MaxLength(500) note?: string;
}
class QuantityMinRaised {
  static readonly contract = defineEvent(QuantityMinRaised, spec());
  @IsUUID() orderId!: string;
  @IsUUID() customerId!: string;
  @IsNumber() @Min(0) total!: number;
  @IsInt() @Min(2) quantity!: number;
  @IsString() @Length(3, 3) currency!: string;
  @IsIn(['new', 'paid']) status!: string;
  @IsString() reference!: string;
  @IsOptional() @IsString() @MaxLength(500) note?: string;
}
class KeyedByCustomer extends OrderPlaced {
  static override readonly contract = defineEvent(KeyedByCustomer, spec<KeyedByCustomer>({ key: (e) => e.customerId }));
}
class TwelvePartitions extends OrderPlaced {
  static override readonly contract = defineEvent(TwelvePartitions, spec({ partitions: 12 }));
}
// Compatible ones.
class CouponAdded extends OrderPlaced {
  static override readonly contract = defineEvent(CouponAdded, spec());
  @IsOptional() @IsString() coupon?: string;
}
class Widened {
  static readonly contract = defineEvent(Widened, spec({ description: 'An order was placed; now said differently.' }));
  @IsUUID() orderId!: string;
  @IsUUID() customerId!: string;
  @IsNumber() @Min(0) total!: number;
  @IsNumber() @Min(0) quantity!: number;
  @IsString() @Length(1, 8) currency!: string;
  @IsIn(['new', 'paid', 'shipped']) status!: string;
  @IsOptional() @IsString() reference?: string;
  @IsOptional() @IsString() note?: string;
}
class OrderPlacedV2 {
  static readonly contract = defineEvent(OrderPlacedV2, spec<OrderPlacedV2>({ version: 2, key: (e) => e.customerId, partitions: 12 }));
  @IsUUID() orderId!: string;
  @IsUUID() customerId!: string;
  @IsInt() totalCents!: number;
}
class OrderShipped {
  static readonly contract = defineEvent(OrderShipped, { ...spec<OrderShipped>(), type: 'orders.order-shipped' });
  @IsUUID() orderId!: string;
}

/** The event surfaces of a document generated for these contracts, as read back from its text. */
function surfaces(...events: EventClass[]) {
  const service: ServiceModel = { name: 'orders', port: 3999, publishes: events, useCases: [] };
  return eventSurfaces(parseAsyncApi(renderAsyncApi(asyncApiDocument([service], events))));
}

function verdict(before: EventClass[], after: EventClass[]): string[] {
  return breakingChanges(surfaces(...before), surfaces(...after)).breaking.map(describeBreakingChange);
}

const base = OrderPlaced as EventClass;

describe('contracts:compat verdicts, from contract classes', () => {
  it.each<[string, EventClass[], RegExp[]]>([
    ['removing a field', [NoteRemoved], [/^orders\.order-placed v1, field note: removed/]],
    ['renaming a field', [CustomerRenamed], [/field customerId: removed \(or renamed\)/, /field buyerId: added as required/]],
    ['string → enum', [CurrencyEnum], [/field currency: now limited to "EUR", "USD"/]],
    ['number → integer', [TotalInteger], [/field total: type number → integer/]],
    ['adding a maxLength', [ReferenceMaxLength], [/field reference: maxLength 40 added/]],
    ['adding a pattern', [ReferencePattern], [/field reference: pattern .* added/]],
    ['optional → required', [NoteRequired], [/field note: type string \| null → string/, /field note: optional → required/]],
    ['adding a required field', [ChannelRequired], [/field channel: added as required/]],
    ['removing an enum value', [StatusValueRemoved], [/field status: no longer allows "paid"/]],
    ['raising a minimum', [QuantityMinRaised], [/field quantity: minimum raised from 1 to 2/]],
    ['changing the key', [KeyedByCustomer], [/^orders\.order-placed v1: Kafka key payload\.orderId → payload\.customerId/]],
    ['changing the partition count', [TwelvePartitions], [/^orders\.order-placed v1: partitions 6 → 12/]],
    ['removing the event with no newer version', [OrderShipped], [/^orders\.order-placed v1: removed, and no newer version/]],
  ])('%s fails, naming the event and the field', (_change, after, expected) => {
    const found = verdict([base], after);
    expect(found).toHaveLength(expected.length);
    expected.forEach((pattern) => expect(found).toContainEqual(expect.stringMatching(pattern)));
  });

  it.each<[string, EventClass[], EventClass[]]>([
    ['no change', [base], [base]],
    ['adding an optional field', [base], [CouponAdded]],
    ['widening: integer → number, looser bounds, an enum value more, required → optional, a new description', [base], [Widened]],
    ['a new event type', [base], [base, OrderShipped]],
    ['a new version with another shape, key and partition count beside the old one', [base], [base, OrderPlacedV2]],
    ['retiring a version once a newer one exists', [base, OrderPlacedV2], [OrderPlacedV2]],
  ])('%s passes', (_change, before, after) => {
    expect(verdict(before, after)).toEqual([]);
  });

  it('reports what it compared, what is new and what was retired', () => {
    const report = breakingChanges(surfaces(base, OrderShipped), surfaces(OrderPlacedV2, OrderShipped));
    expect(report).toMatchObject({ compared: 1, added: ['orders.order-placed v2'], retired: ['orders.order-placed v1'], breaking: [] });
  });
});

describe('schemaNarrowings, on schemas the contracts do not produce yet', () => {
  const object = (properties: Record<string, JsonSchema>, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false, ...extra });
  it.each<[string, JsonSchema, JsonSchema, string[]]>([
    ['a nested field narrowed', object({ endpoint: object({ method: { type: 'string' } }) }), object({ endpoint: object({ method: { type: 'string', enum: ['GET'] } }) }), ['endpoint.method: now limited to "GET"']],
    ['array items narrowed', object({ tags: { type: 'array', items: { type: 'string' } } }), object({ tags: { type: 'array', items: { type: 'string', maxLength: 10 } } }), ['tags[]: maxLength 10 added']],
    ['an open object closed', { type: 'object', properties: {} }, { type: 'object', properties: {}, additionalProperties: false }, [': unknown fields now refused']],
    ['a constraint the check does not know', object({ a: { type: 'string' } }), object({ a: { type: 'string', not: { const: '' } } }), ['a: not changed (cannot prove it still accepts every earlier value)']],
    ['a type widened to a union', object({ a: { type: 'integer' } }), object({ a: { type: ['number', 'null'] } }), []],
    ['a bound loosened and a pattern dropped', object({ a: { type: 'string', maxLength: 5, pattern: '^a' } }), object({ a: { type: 'string', maxLength: 9 } }), []],
    ['annotations changed', object({ a: { type: 'string', description: 'x' } }), object({ a: { type: 'string', description: 'y', examples: ['z'], 'x-note': 1 } }), []],
  ])('%s', (_case, before, after, expected) => {
    expect(schemaNarrowings(before, after).map((n) => `${n.field}: ${n.change}`)).toEqual(expected);
  });
});
