import { validateAppend } from './append';

const event = (id: string, type = 'A', data: unknown = {}) => ({ id, type, data });
const ID1 = '4b0c3f3e-8a57-4b8e-9d6a-0c1f5f0f2a10';
const ID2 = '5c1d4a4f-9b68-4c9f-8e7b-1d2a6a1a3b21';

describe('append validation', () => {
  it('accepts a non-empty batch of events with distinct UUIDs, types and data', () => {
    expect(() => validateAppend('s', [event(ID1), event(ID2, 'B', null)])).not.toThrow();
  });

  it('refuses what the database would refuse less clearly', () => {
    expect(() => validateAppend('', [event(ID1)])).toThrow('stream must be a non-empty string');
    expect(() => validateAppend('s', [])).toThrow('no events');
    expect(() => validateAppend('s', [event('123')])).toThrow('not a UUID');
    expect(() => validateAppend('s', [event(ID1), event(ID1.toUpperCase())])).toThrow('appears twice');
    expect(() => validateAppend('s', [event(ID1, '')])).toThrow('has no type');
    expect(() => validateAppend('s', [{ id: ID1, type: 'A', data: undefined }])).toThrow('has no data');
  });
});
