import { isTransientDatabaseError } from './transient-error';

const pgError = (code: string) => Object.assign(new Error(`error ${code}`), { code });

describe('transient database errors', () => {
  it('are connection failures, deadlocks, serialization failures, resource shortages and shutdowns', () => {
    for (const code of ['08006', '40001', '40P01', '53300', '57P01']) expect(isTransientDatabaseError(pgError(code))).toBe(true);
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('are not what the event caused: constraint violations, bad input, plain exceptions', () => {
    for (const code of ['23505', '22P02', '42P01', 'P0001']) expect(isTransientDatabaseError(pgError(code))).toBe(false);
    expect(isTransientDatabaseError(new TypeError("Cannot read properties of undefined (reading 'ownerId')"))).toBe(false);
    expect(isTransientDatabaseError('a string')).toBe(false);
  });
});
