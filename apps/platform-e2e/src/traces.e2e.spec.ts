import { EndpointUpdated, NotificationSent, UserCreated } from '@platform/contracts';
import { eventually, httpJson, OTLP_SPAN_KIND, OtlpReceiver, sleep, TestPlatform, TopicReader, type ReceivedSpan } from '@platform/testing';
import { randomBytes, randomUUID } from 'node:crypto';

interface User {
  id: string;
}
interface Api {
  id: string;
}

/**
 * OpenTelemetry traces of real service processes, exported through the real OTLP/HTTP exporter
 * (JSON protocol) to a receiver in this process: a request's trace goes from its server span
 * through the relay's send span, the other service's process span and on to what that handler
 * publishes; a window's span links to the send spans of its events.
 */
describe('traces (OTLP from users, endpoints and notifications)', () => {
  const receiver = new OtlpReceiver();
  const platform = new TestPlatform(['users', 'endpoints', 'notifications']);
  let userCreated: TopicReader;

  const topic = (event: { contract: { topic: string } }) => `${platform.namespace}.${event.contract.topic}`;
  const group = (useCase: string) => `${platform.namespace}.notifications.${useCase}`;

  beforeAll(async () => {
    await receiver.start();
    // A short batch delay: the spans reach the receiver within a fraction of a second.
    await platform.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' });
    userCreated = await new TopicReader(platform.brokers, [topic(UserCreated)]).start();
  }, 180_000);

  afterAll(async () => {
    await userCreated?.stop();
    await platform.stop();
    await receiver.stop();
  }, 60_000);

  /** Spans of one trace once it has `count` of them, then a while longer to see that no more come. */
  async function traceOf(traceId: string, count: number): Promise<ReceivedSpan[]> {
    await eventually(() => expect(receiver.trace(traceId).length).toBeGreaterThanOrEqual(count), { timeoutMs: 20_000, intervalMs: 100 });
    await sleep(1000);
    return receiver.trace(traceId);
  }

  /** The one span of `spans` matching `where`. */
  function only(spans: readonly ReceivedSpan[], where: (span: ReceivedSpan) => boolean, what: string): ReceivedSpan {
    const found = spans.filter(where);
    if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length} among:\n${describeTree(spans)}`);
    return found[0];
  }

  it('follows a registration from its HTTP request through users and notifications, and on to what the handler publishes', async () => {
    const { status, body: user } = await httpJson<User>('POST', `${platform.service('users').url}/users`, { email: `trace-${randomUUID()}@example.com`, displayName: 'Grace' }, platform.asOperator());
    expect(status).toBe(201);
    // The request came without a traceparent: its trace is the one the welcome's process span is in.
    const welcome = await eventually(() => only(receiver.spans, (s) => s.attributes['messaging.consumer.group.name'] === group('welcome') && s.attributes['messaging.kafka.message.key'] === user.id, 'welcome process span'), {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const spans = await traceOf(welcome.traceId, 4);
    const server = only(spans, (s) => s.kind === OTLP_SPAN_KIND.server, 'server span');
    const sendCreated = only(spans, (s) => s.name === `send ${topic(UserCreated)}`, 'send span of UserCreated');
    const sendNotification = only(spans, (s) => s.name === `send ${topic(NotificationSent)}`, 'send span of NotificationSent');

    // The tree: every span of the trace, and each one's parent.
    expect(spans).toHaveLength(4);
    expect(server).toMatchObject({ service: 'users', name: 'POST /users', parentSpanId: '', statusCode: 0 });
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/users', 'http.response.status_code': 201 });
    expect(sendCreated).toMatchObject({ service: 'users', kind: OTLP_SPAN_KIND.producer, parentSpanId: server.spanId });
    expect(welcome).toMatchObject({ service: 'notifications', kind: OTLP_SPAN_KIND.consumer, name: `process ${topic(UserCreated)}`, parentSpanId: sendCreated.spanId });
    expect(welcome.links).toEqual([{ traceId: welcome.traceId, spanId: sendCreated.spanId }]);
    expect(sendNotification).toMatchObject({ service: 'notifications', kind: OTLP_SPAN_KIND.producer, parentSpanId: welcome.spanId });

    // The message in Kafka carries the send span's context, and the process span says where it was read.
    const message = await eventually(() => {
      const found = userCreated.messages.filter((m) => m.key === user.id);
      expect(found).toHaveLength(1);
      return found[0];
    });
    expect(message.headers['traceparent']).toBe(`00-${welcome.traceId}-${sendCreated.spanId}-01`);
    expect(sendCreated.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': topic(UserCreated),
      'messaging.kafka.message.key': user.id,
      'messaging.message.id': message.headers['ce_id'],
    });
    expect(welcome.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': topic(UserCreated),
      'messaging.consumer.group.name': group('welcome'),
      'messaging.destination.partition.id': String(message.partition),
      'messaging.kafka.offset': Number(message.offset),
      'messaging.message.id': message.headers['ce_id'],
    });
    // The request's log line shows the trace the spans are in.
    await eventually(() => expect(platform.service('users').logs(20_000)).toContain(`"traceId":"${welcome.traceId}"`));
    process.stdout.write(`trace of POST /users:\n${describeTree(spans)}\n`);
  });

  it("continues a caller's trace, and links a window's span to each of its events", async () => {
    const endpoints = platform.service('endpoints').url;
    const owner = platform.asUser(randomUUID());
    const { body: api } = await httpJson<Api>('POST', `${endpoints}/apis`, { name: 'Traced', basePath: '/traced' }, owner);
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const added = await httpJson('POST', `${endpoints}/apis/${api.id}/endpoints`, { method: 'GET', path: '/traced', upstreamUrl: 'http://traced.internal' }, { ...owner, traceparent: `00-${traceId}-${callerSpanId}-01` });
    expect(added.status).toBe(201);

    const spans = await traceOf(traceId, 3);
    expect(spans).toHaveLength(3);
    const server = only(spans, (s) => s.kind === OTLP_SPAN_KIND.server, 'server span');
    const send = only(spans, (s) => s.name === `send ${topic(EndpointUpdated)}`, 'send span of EndpointUpdated');
    const audit = only(spans, (s) => s.attributes['messaging.consumer.group.name'] === group('endpoint-audit'), 'audit process span');
    expect(server).toMatchObject({ service: 'endpoints', name: 'POST /apis/:id/endpoints', parentSpanId: callerSpanId });
    expect(send).toMatchObject({ service: 'endpoints', kind: OTLP_SPAN_KIND.producer, parentSpanId: server.spanId });
    expect(audit).toMatchObject({ service: 'notifications', kind: OTLP_SPAN_KIND.consumer, name: `process ${topic(EndpointUpdated)}`, parentSpanId: send.spanId });

    // The digest's window gathered events of many requests: a trace of its own, linked to each event's send span.
    const window = await eventually(() => only(receiver.spans, (s) => s.attributes['messaging.consumer.group.name'] === group('endpoint-digest') && s.links.some((l) => l.spanId === send.spanId), 'window span'), {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    expect(window).toMatchObject({ service: 'notifications', kind: OTLP_SPAN_KIND.consumer, name: `process ${topic(EndpointUpdated)}`, parentSpanId: '' });
    expect(window.traceId).not.toBe(traceId);
    expect(window.links).toEqual([{ traceId, spanId: send.spanId }]);
    expect(window.attributes).toMatchObject({ 'messaging.batch.message_count': 1, 'messaging.destination.name': topic(EndpointUpdated) });
    const digest = await traceOf(window.traceId, 2);
    expect(digest).toHaveLength(2);
    expect(only(digest, (s) => s.name === `send ${topic(NotificationSent)}`, 'send span of the digest')).toMatchObject({ service: 'notifications', parentSpanId: window.spanId });
    process.stdout.write(`trace of POST /apis/:id/endpoints:\n${describeTree(spans)}\nits window's trace:\n${describeTree(digest)}\n`);
  });

  it('exports only what the receiver understands: no refused export', () => {
    expect(receiver.refused).toEqual([]);
  });
});

/** A trace as an indented tree (children under their parent), for failure messages and the README. */
function describeTree(spans: readonly ReceivedSpan[]): string {
  const kinds = ['', 'internal', 'server', 'client', 'producer', 'consumer'];
  const ids = new Set(spans.map((s) => s.spanId));
  const lines: string[] = [];
  const walk = (parent: string, depth: number) => {
    for (const span of spans.filter((s) => (depth === 0 ? !ids.has(s.parentSpanId) : s.parentSpanId === parent))) {
      const links = span.links.length > 0 ? ` links: ${span.links.map((l) => l.spanId).join(', ')}` : '';
      lines.push(`${'  '.repeat(depth)}${span.name} [${kinds[span.kind]}, ${span.service}] ${span.spanId}${links}`);
      walk(span.spanId, depth + 1);
    }
  };
  walk('', 0);
  return lines.join('\n');
}
