import { EndpointUpdated, NotificationSent, TemplateUpdated, UserCreated } from '@platform/contracts';
import { CE } from '@platform/messaging';
import { failed, reconcile, type DigestRow, type KafkaRecord, type NotificationRow, type Observed } from './reconcile';
import { Rng } from './rng';
import type { WriteRecord } from './workload';

let offset = 0;
function message(topic: string, id: string, key: string, payload: object, correlationId = `c-${id}`): KafkaRecord {
  return { topic, partition: 0, offset: String(offset++), key, value: JSON.stringify(payload), headers: { [CE.id]: id, [CE.correlationId]: correlationId } };
}

const USER = 'u1';
const API = 'a1';
const created = message(UserCreated.contract.topic, 'e-user', USER, { userId: USER, email: 'x@example.com', displayName: 'X' }, 'w1');
const updated = message(EndpointUpdated.contract.topic, 'e-ep', API, { apiId: API, ownerId: USER, endpointId: 'ep', change: 'added', version: 2 }, 'w2');
const welcome: NotificationRow = { id: 'n1', userId: USER, kind: 'welcome', causedBy: 'e-user' };
const digest: DigestRow = { id: 'd1', ownerId: USER, windowStart: '2026-01-01T00:00:00.000Z', eventIds: ['e-ep'] };
const digestNotification: NotificationRow = { id: 'd1', userId: USER, kind: 'endpoint-digest', causedBy: 'e-ep' };
const sent = (id: string) => message(NotificationSent.contract.topic, `s-${id}`, USER, { notificationId: id, userId: USER });
const write = (correlationId: string, topic: string, key: string): WriteRecord => ({ action: 'create-user', instance: 'users#1', correlationId, at: 0, status: 201, outcome: '2xx', expected: [{ topic, key }] });

function clean(): Observed {
  return {
    writes: [write('w1', UserCreated.contract.topic, USER), write('w2', EndpointUpdated.contract.topic, API), { action: 'create-user', instance: 'users#1', correlationId: 'w3', at: 0, outcome: 'timeout', expected: [] }],
    messages: [created, updated, sent('n1'), sent('d1'), message(TemplateUpdated.contract.topic, 'e-t', 't1', { templateId: 't1', revision: 2 })],
    deadLetters: { 'notifications.welcome.dlq': 0 },
    notifications: new Map([[USER, [welcome, digestNotification]]]),
    audits: new Map([[API, [{ eventId: 'e-ep', apiId: API }]]]),
    digests: new Map([[USER, [digest]]]),
    apiViews: new Map([[API, 2]]),
    apiVersions: new Map([[API, 2]]),
    templateCache: new Map([['t1', 2]]),
    windows: [{ key: USER, start: digest.windowStart, closed: true, failed: false, eventCount: 1 }],
    outboxes: { users: 0 },
    lags: { 'notifications.welcome': 0 },
  };
}

const checks = (o: Observed) => reconcile(o).byCheck;

describe('chaos reconciliation', () => {
  it('finds nothing wrong when every promise was kept, re-sent copies and unanswered writes included', () => {
    const o = clean();
    const result = reconcile({ ...o, messages: [...o.messages, { ...created, offset: '99' }] });
    expect(result.findings).toEqual([]);
    expect(failed(result)).toBe(false);
    expect(result.figures).toMatchObject({ distinctEvents: 5, resent: 1, writes2xx: 2, welcomes: 1, auditRows: 1, digests: 1, eventsInDigests: 1, windowsHandled: 1 });
  });

  it('a 2xx write whose event is not in Kafka is lost; two distinct events for one write are duplicated', () => {
    const o = clean();
    expect(checks({ ...o, messages: o.messages.filter((m) => m !== created) })).toMatchObject({ 'lost: event of a 2xx write': 1 });
    const twice = message(UserCreated.contract.topic, 'e-user-2', USER, { userId: USER }, 'w1');
    expect(checks({ ...o, messages: [...o.messages, twice] })).toMatchObject({ 'duplicated: event of a 2xx write': 1 });
  });

  it('counts missing and repeated effects: welcome, audit, digest, window, NotificationSent', () => {
    const o = clean();
    expect(checks({ ...o, notifications: new Map([[USER, [digestNotification]]]) })).toMatchObject({ 'lost: welcome': 1 });
    expect(checks({ ...o, notifications: new Map([[USER, [welcome, { ...welcome, id: 'n2' }, digestNotification]]]), messages: [...o.messages, sent('n2')] })).toMatchObject({
      'duplicated: welcome': 1,
    });
    expect(checks({ ...o, audits: new Map([[API, []]]) })).toMatchObject({ 'lost: audit': 1 });
    const second: DigestRow = { id: 'd2', ownerId: USER, windowStart: '2026-01-01T00:00:00.500Z', eventIds: ['e-ep'] };
    expect(checks({ ...o, digests: new Map([[USER, [digest, second]]]) })).toMatchObject({ 'duplicated: digest': 1 });
    expect(checks({ ...o, digests: new Map([[USER, [digest, { ...digest, id: 'd3', eventIds: [] }]]]) })).toMatchObject({ 'duplicated: window digested twice': 1 });
    expect(checks({ ...o, digests: new Map([[USER, []]]) })).toMatchObject({ 'lost: digest': 1, 'lost: window without digest': 1 });
    expect(checks({ ...o, messages: o.messages.filter((m) => m.headers[CE.id] !== 's-n1') })).toMatchObject({ 'lost: NotificationSent': 1 });
  });

  it('an effect without its cause is inconsistent', () => {
    const o = clean();
    expect(checks({ ...o, audits: new Map([[API, [{ eventId: 'e-ep', apiId: API }, { eventId: 'ghost', apiId: API }]]]) })).toMatchObject({ 'inconsistent: audit': 1 });
    expect(checks({ ...o, messages: [...o.messages, sent('ghost')] })).toMatchObject({ 'inconsistent: NotificationSent': 1 });
  });

  it('read models behind, outboxes not empty, groups behind and open windows are findings; a dead letter fails the run', () => {
    const o = clean();
    expect(checks({ ...o, templateCache: new Map([['t1', 1]]) })).toMatchObject({ 'lost: template cache': 1 });
    expect(checks({ ...o, apiViews: new Map([[API, 1]]) })).toMatchObject({ 'lost: API read model': 1 });
    expect(checks({ ...o, outboxes: { users: 3 }, lags: { 'notifications.welcome': 2 }, windows: [{ ...o.windows[0], closed: false }] })).toMatchObject({
      'undrained: outbox not drained': 1,
      'undrained: consumer lag': 1,
      'undrained: window not handled': 1,
    });
    const dead = reconcile({ ...o, deadLetters: { 'notifications.welcome.dlq': 1 } });
    expect(dead.findings).toEqual([]);
    expect(failed(dead)).toBe(true);
  });
});

describe('seeded random numbers', () => {
  it('replays the same sequence for the same seed, and forks independent streams', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const seq = (r: Rng) => Array.from({ length: 5 }, () => r.next());
    expect(seq(a)).toEqual(seq(b));
    expect(seq(new Rng(42).fork(1))).not.toEqual(seq(new Rng(42).fork(2)));
    const r = new Rng(7);
    for (let i = 0; i < 1000; i++) {
      const x = r.int(3, 5);
      expect(x).toBeGreaterThanOrEqual(3);
      expect(x).toBeLessThanOrEqual(5);
    }
    expect(new Rng(1).weighted([['never', 0], ['always', 1]])).toBe('always');
    expect(new Rng(1).weighted([['never', 0]])).toBeUndefined();
  });
});
