import { Writable } from 'node:stream';
import { setTimeout as tick } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import { currentLogContext, withLogContext } from './log-context';
import { createRootLogger, loggerPort, type LogOptions } from './pino-logger';
import { newTraceparent, traceIdOf } from './traceparent';

/** A destination keeping what the logger wrote. */
function captured() {
  const chunks: string[] = [];
  const stream = new Writable({ write: (chunk, _encoding, done) => (chunks.push(String(chunk)), done()) });
  return { stream, text: () => chunks.join(''), lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function logger(options: Partial<LogOptions> = {}) {
  const out = captured();
  return { out, log: loggerPort(createRootLogger({ service: 'svc', destination: out.stream, ...options })) };
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('createRootLogger', () => {
  it('writes one JSON object per line with service, level name, time, message and fields', () => {
    const { out, log } = logger();
    log.info('hello', { group: 'g', n: 1 });
    const [line] = out.lines();
    expect(line).toEqual({ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), service: 'svc', group: 'g', n: 1, msg: 'hello' });
  });

  it('writes only lines at or above its level (info by default)', () => {
    const quiet = logger();
    quiet.log.debug('hidden');
    quiet.log.info('shown');
    expect(quiet.out.lines().map((l) => l['msg'])).toEqual(['shown']);
    const warn = logger({ level: 'warn' });
    warn.log.info('hidden');
    warn.log.warn('shown');
    warn.log.error('shown too');
    expect(warn.out.lines().map((l) => [l['level'], l['msg']])).toEqual([['warn', 'shown'], ['error', 'shown too']]);
    const debug = logger({ level: 'debug' });
    debug.log.debug('shown');
    expect(debug.out.lines().map((l) => l['level'])).toEqual(['debug']);
  });

  it('writes lines for people with the pretty format', () => {
    const { out, log } = logger({ format: 'pretty', level: 'warn' });
    log.info('hidden');
    log.warn('disk almost full', { group: 'g' });
    loggerPort(createRootLogger({ service: 'svc', format: 'pretty', destination: out.stream }).child({ context: 'Health' })).error('Kafka is unavailable');
    // Colours only when the terminal has them; the layout is what matters.
    const text = stripVTControlCharacters(out.text());
    expect(text).not.toContain('hidden');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: svc: disk almost full {"group":"g"}\n\[[\d:.]+\] ERROR: svc Health: Kafka is unavailable\n$/);
  });

  it('adds the fields of the work in progress, the trace id instead of the traceparent', () => {
    const { out, log } = logger();
    log.info('outside');
    withLogContext({ correlationId: 'c-1', traceparent: TRACEPARENT, group: 'svc.uc', topic: 't', partition: 2, offset: '41' }, () => log.info('inside'));
    const [outside, inside] = out.lines();
    expect(outside).not.toHaveProperty('correlationId');
    expect(inside).toMatchObject({ correlationId: 'c-1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', group: 'svc.uc', topic: 't', partition: 2, offset: '41' });
    expect(inside).not.toHaveProperty('traceparent');
  });

  it('lets fields given with a line win over the context, without repeating the key', () => {
    const { out, log } = logger();
    withLogContext({ partition: 2 }, () => log.warn('explicit', { partition: 5 }));
    expect(out.text().match(/"partition"/g)).toHaveLength(1);
    expect(out.lines()[0]).toMatchObject({ partition: 5 });
  });

  it('takes the trace id from the given source when there is one (a tracer)', () => {
    const { out, log } = logger({ traceId: () => 'a'.repeat(32) });
    withLogContext({ traceparent: TRACEPARENT }, () => log.info('traced'));
    expect(out.lines()[0]).toMatchObject({ traceId: 'a'.repeat(32) });
  });
});

describe('withLogContext', () => {
  it('follows the work through awaits and timers, and layers inner fields over outer ones', async () => {
    const seen = await withLogContext({ correlationId: 'c-1', group: 'g' }, async () => {
      await tick(1);
      return withLogContext({ offset: '7' }, async () => {
        await tick(1);
        return currentLogContext();
      });
    });
    expect(seen).toEqual({ correlationId: 'c-1', group: 'g', offset: '7' });
    expect(currentLogContext()).toBeUndefined();
  });

  it('keeps concurrent work apart', async () => {
    const read = (id: string) => withLogContext({ correlationId: id }, async () => (await tick(Number(id)), currentLogContext()?.correlationId));
    expect(await Promise.all([read('3'), read('1'), read('2')])).toEqual(['3', '1', '2']);
  });
});

describe('loggerPort', () => {
  it('writes through the logger its source returns at each call', () => {
    const first = captured();
    const second = captured();
    let root = createRootLogger({ service: 'a', destination: first.stream });
    const log = loggerPort(() => root);
    log.info('one');
    root = createRootLogger({ service: 'b', destination: second.stream });
    log.info('two');
    expect(first.lines().map((l) => [l['service'], l['msg']])).toEqual([['a', 'one']]);
    expect(second.lines().map((l) => [l['service'], l['msg']])).toEqual([['b', 'two']]);
  });
});

describe('traceparent', () => {
  it('reads the trace id of a valid traceparent only', () => {
    expect(traceIdOf(TRACEPARENT)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traceIdOf('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    for (const invalid of [undefined, '', 'garbage', TRACEPARENT.toUpperCase(), `${TRACEPARENT}-extra`, `ff${TRACEPARENT.slice(2)}`, `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`]) {
      expect(traceIdOf(invalid)).toBeUndefined();
    }
  });

  it('starts new traces that are valid and distinct', () => {
    const [a, b] = [newTraceparent(), newTraceparent()];
    expect(traceIdOf(a)).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdOf(a)).not.toBe(traceIdOf(b));
  });
});
