import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { EndpointUpdated, NotificationSent, UserCreated, UserRenamed } from '@platform/contracts';
import { RetriableError, traceparentOf, withLogContext, withTransaction } from '@platform/core';
import { eventually, sleep } from '@platform/testing';
import { randomUUID } from 'node:crypto';
import {
  isEvent,
  ServiceMessaging,
  type EnvelopeOf,
  type EventWindow,
  type HandlerContext,
  type PendingEvent,
  type Saga,
  type SagaDecision,
  type SagaInput,
  type UseCase,
  type WindowedUseCase,
} from '../src';
import { endpointUpdated, messagingHarness, type MessagingHarness } from './harness';

jest.setTimeout(90_000);

// The SDK, as the service kit registers it when tracing is on; spans kept in memory.
const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
const tracer = trace.getTracer('test');

const notice = (userId: string, subject: string): NotificationSent => ({ notificationId: randomUUID(), userId, kind: 'test', channel: 'email', subject });

/** Fails the first attempt at each event, then publishes a notice: two process spans, one failed. */
class FlakyWelcome implements UseCase<readonly [typeof UserCreated]> {
  readonly name = 'flaky-welcome';
  readonly events = [UserCreated] as const;
  readonly retry = { maxAttempts: 5, initialBackoffMs: 50, maxBackoffMs: 100 };
  private readonly failed = new Set<string>();

  async handle(event: EnvelopeOf<readonly [typeof UserCreated]>, { publish }: HandlerContext): Promise<void> {
    if (!this.failed.has(event.id)) {
      this.failed.add(event.id);
      throw new RetriableError('the first attempt fails');
    }
    await publish(NotificationSent, notice(event.payload.userId, 'welcome'));
  }
}

const SAGA_EVENTS = [UserCreated, UserRenamed] as const;

/** Sends a notice when its user is renamed: a saga's command, published by the library. */
class RenameNotices implements Saga<{ readonly renames: number }, typeof SAGA_EVENTS> {
  readonly name = 'rename-notices';
  readonly events = SAGA_EVENTS;
  readonly startedBy = [UserCreated];
  correlate(message: EnvelopeOf<typeof SAGA_EVENTS>): string {
    return message.payload.userId;
  }
  initialState() {
    return { renames: 0 };
  }
  decide(_state: { readonly renames: number }, input: SagaInput<typeof SAGA_EVENTS>): SagaDecision {
    if (input.kind === 'message' && isEvent(input.message, UserRenamed)) return { send: [{ event: NotificationSent, payload: notice(input.message.payload.userId, 'renamed') }] };
    return {};
  }
  evolve(state: { readonly renames: number }, input: SagaInput<typeof SAGA_EVENTS>) {
    return input.kind === 'message' && isEvent(input.message, UserRenamed) ? { renames: state.renames + 1 } : state;
  }
}

/** Windows of one owner's changes, handled one window at a time (no handleWindows). */
class ChangeDigest implements WindowedUseCase<readonly [typeof EndpointUpdated]> {
  readonly name = 'change-digest';
  readonly events = [EndpointUpdated] as const;
  readonly window = { kind: 'tumbling', sizeMs: 1000, graceMs: 0, time: 'processing' } as const;
  groupBy(event: EnvelopeOf<readonly [typeof EndpointUpdated]>): string {
    return event.payload.ownerId;
  }
  async handleWindow(window: EventWindow<EnvelopeOf<readonly [typeof EndpointUpdated]>>, { publish }: HandlerContext): Promise<void> {
    await publish(NotificationSent, notice(window.key, `${window.events.length} changes`));
  }
}

describe('spans of the messaging library (OpenTelemetry SDK in process, real PostgreSQL and Kafka)', () => {
  let h: MessagingHarness;
  let messaging: ServiceMessaging;

  beforeAll(async () => {
    h = await messagingHarness('traces');
    messaging = new ServiceMessaging({
      service: 'tracing',
      broker: h.broker,
      naming: h.naming,
      pool: h.db.pool,
      publishes: [UserCreated, UserRenamed, EndpointUpdated, NotificationSent],
      useCases: [new FlakyWelcome(), new RenameNotices(), new ChangeDigest()],
      logger: h.logger,
    });
    await messaging.start();
  });

  afterAll(async () => {
    await messaging?.stop();
    await h?.close();
  });

  const spans = () => exporter.getFinishedSpans();
  const named = (name: string, where: (s: ReadableSpan) => boolean = () => true) => spans().filter((s) => s.name === name && where(s));
  const childrenOf = (parent: ReadableSpan) => spans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
  const group = (useCase: string) => `${h.naming.namespace}.tracing.${useCase}`;

  /** Publishes in a request's span, the way the service kit's HTTP server span does: the outbox row keeps its context. */
  async function publishInRequest(events: readonly PendingEvent[]): Promise<ReadableSpan> {
    const span = tracer.startSpan('request', { kind: SpanKind.SERVER });
    await context.with(trace.setSpan(context.active(), span), () =>
      withLogContext({ traceparent: traceparentOf(span, undefined) }, () => withTransaction(h.db.pool, (tx) => messaging.publishAll(tx, events))),
    );
    span.end();
    return named('request').find((s) => s.spanContext().spanId === span.spanContext().spanId)!;
  }

  it('parents the send span on the request, every process attempt on the send span, and what the handler publishes on the attempt that committed', async () => {
    const userId = randomUUID();
    const request = await publishInRequest([{ event: UserCreated, payload: { userId, email: `${userId}@example.com`, displayName: 'Ada' } }]);
    const topic = h.naming.topic(UserCreated);
    const [send] = await eventually(() => {
      const found = named(`send ${topic}`, (s) => s.attributes['messaging.kafka.message.key'] === userId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(send.spanContext().traceId).toBe(request.spanContext().traceId);

    const attempts = await eventually(() => {
      const found = named(`process ${topic}`, (s) => s.attributes['messaging.consumer.group.name'] === group('flaky-welcome'));
      expect(found).toHaveLength(2);
      expect(named(`send ${h.naming.topic(NotificationSent)}`)).toHaveLength(1);
      return found;
    });
    for (const attempt of attempts) {
      expect(attempt.kind).toBe(SpanKind.CONSUMER);
      expect(attempt.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
      expect(attempt.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
    }
    const [failed, committed] = attempts.sort((a, b) => (a.startTime[0] - b.startTime[0]) * 1e9 + (a.startTime[1] - b.startTime[1]));
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes['error.type']).toBe('RetriableError');
    expect(committed.status.code).toBe(SpanStatusCode.UNSET);
    const [sendNotice] = named(`send ${h.naming.topic(NotificationSent)}`);
    expect(sendNotice.parentSpanContext?.spanId).toBe(committed.spanContext().spanId);
    expect(childrenOf(failed)).toEqual([]);
    // The saga's process span of the same message (it starts the instance, sends nothing) hangs off the same send span.
    const sagaProcess = named(`process ${topic}`, (s) => s.attributes['messaging.consumer.group.name'] === group('rename-notices'));
    expect(sagaProcess.map((s) => s.parentSpanContext?.spanId)).toEqual([send.spanContext().spanId]);
  });

  it("carries a saga's process span on to the commands it sends", async () => {
    const userId = randomUUID();
    await publishInRequest([{ event: UserCreated, payload: { userId, email: `${userId}@example.com`, displayName: 'Ada' } }]);
    const topic = h.naming.topic(UserCreated);
    await eventually(() => expect(named(`process ${topic}`, (s) => s.attributes['messaging.consumer.group.name'] === group('rename-notices') && s.attributes['messaging.kafka.message.key'] === userId)).toHaveLength(1));
    const request = await publishInRequest([{ event: UserRenamed, payload: { userId, displayName: 'Countess', previousDisplayName: 'Ada' } }]);
    const process = await eventually(() => {
      const found = named(`process ${h.naming.topic(UserRenamed)}`, (s) => s.attributes['messaging.kafka.message.key'] === userId);
      expect(found).toHaveLength(1);
      return found[0];
    });
    expect(process.spanContext().traceId).toBe(request.spanContext().traceId);
    const sendNotice = await eventually(() => {
      const found = childrenOf(process);
      expect(found.map((s) => s.name)).toEqual([`send ${h.naming.topic(NotificationSent)}`]);
      return found[0];
    });
    expect(sendNotice.kind).toBe(SpanKind.PRODUCER);
  });

  it("starts a window's span as a trace of its own, linked to each event's send span, and parents what it publishes on it", async () => {
    const apiId = randomUUID();
    const first = await publishInRequest([{ event: EndpointUpdated, payload: endpointUpdated(apiId, 1) }]);
    const second = await publishInRequest([{ event: EndpointUpdated, payload: endpointUpdated(apiId, 2) }]);
    const topic = h.naming.topic(EndpointUpdated);
    const sends = await eventually(() => {
      const found = named(`send ${topic}`, (s) => s.attributes['messaging.kafka.message.key'] === apiId);
      expect(found).toHaveLength(2);
      return found;
    });
    expect(sends.map((s) => s.parentSpanContext?.spanId).sort()).toEqual([first.spanContext().spanId, second.spanContext().spanId].sort());
    const windows = await eventually(() => {
      const found = named(`process ${topic}`, (s) => s.attributes['messaging.consumer.group.name'] === group('change-digest'));
      expect(found.flatMap((w) => w.links.map((l) => l.context.spanId)).sort()).toEqual(sends.map((s) => s.spanContext().spanId).sort());
      return found;
    });
    for (const window of windows) {
      expect(window.parentSpanContext).toBeUndefined();
      expect([first.spanContext().traceId, second.spanContext().traceId]).not.toContain(window.spanContext().traceId);
      expect(window.attributes['messaging.batch.message_count']).toBe(window.links.length);
      const published = await eventually(() => {
        const found = childrenOf(window);
        expect(found.map((s) => s.name)).toEqual([`send ${h.naming.topic(NotificationSent)}`]);
        return found;
      });
      expect(published[0].spanContext().traceId).toBe(window.spanContext().traceId);
    }
  });

  it('ends every span it starts', async () => {
    // Spans still open are not exported: give the last sends a moment, then every parent seen is a finished span or a request.
    await sleep(500);
    const ids = new Set(spans().map((s) => s.spanContext().spanId));
    const orphans = spans().filter((s) => s.parentSpanContext && !ids.has(s.parentSpanContext.spanId));
    expect(orphans.map((s) => s.name)).toEqual([]);
  });
});
