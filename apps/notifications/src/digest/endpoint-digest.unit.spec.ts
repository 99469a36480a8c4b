import { EndpointUpdated } from '@platform/contracts';
import type { EnvelopeOf, EventWindow } from '@platform/messaging';
import { digestBody, digestSubject } from './endpoint-digest.use-case';

type Envelope = EnvelopeOf<readonly [typeof EndpointUpdated]>;

const event = (apiId: string, path: string, change: 'added' | 'updated'): Envelope =>
  ({ id: `${apiId}${path}`, payload: { ...EndpointUpdated.contract.examples.valid, apiId, path, change } }) as unknown as Envelope;

describe('endpoint digest text', () => {
  const window = (events: Envelope[]): EventWindow<Envelope> => ({ key: 'owner', start: new Date(0), end: new Date(500), events });

  it('counts changes and APIs, singular and plural', () => {
    expect(digestSubject(window([event('a', '/x', 'added')]))).toBe('1 endpoint change in 1 API');
    expect(digestSubject(window([event('a', '/x', 'added'), event('a', '/y', 'updated'), event('b', '/z', 'added')]))).toBe('3 endpoint changes in 2 APIs');
  });

  it('lists every change in window order', () => {
    expect(digestBody(window([event('a', '/x', 'added'), event('b', '/y', 'updated')]))).toBe('added GET /x (API a)\nupdated GET /y (API b)');
  });
});
