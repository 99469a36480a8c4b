import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The work in progress: the HTTP request being answered or the Kafka message being handled.
 * Every log line written while it runs carries these fields, whichever logger writes it (a
 * library's, a handler's, Nest's), and what is published meanwhile keeps its trace.
 */
export interface LogContext {
  /** The request's or the message's correlation id: the conversation it belongs to. */
  readonly correlationId?: string;
  /** W3C trace context of the request or message (log lines show its trace id). */
  readonly traceparent?: string;
  /** Consumer group, topic, partition and offset of the message being handled. */
  readonly group?: string;
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `work` with `context` laid over the current one (its fields win), for all it awaits or schedules. */
export function withLogContext<T>(context: LogContext, work: () => T): T {
  const current = storage.getStore();
  return storage.run(current ? { ...current, ...context } : context, work);
}

/** The context of the work in progress; undefined outside any request or message. */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}
