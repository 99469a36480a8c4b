import type { Pool } from 'pg';
import type { ReadableEvents } from '@platform/contracts';
import type { LogContext, Logger, SqlClient } from '@platform/core';
import type { EventMetadata, ReceivedEnvelope } from '../envelope/envelope';
import type { IncomingMessage, PartitionBatch, TopicPartition } from '../kafka/broker';
import type { KafkaNaming } from '../kafka/naming';
import type { UseCaseMetrics } from '../metrics/messaging-metrics';
import type { OutboxPublisher } from '../outbox/publisher';
import type { AfterCommit } from './after-commit';
import type { DeadLetterFailure, DeadLetterOptions } from './dead-letters';
import type { RetryPolicy } from './retry-policy';
import type { HandlerContext } from './use-case';

/**
 * What the consumer runtime gives a way of handling: the group's names, the one step that reads
 * a message, the dead-letter topic, offset commits and handler contexts. Both kinds of use case
 * use these and nothing else of Kafka, so they fail, dead-letter and commit alike.
 */
export interface ConsumerRuntime {
  readonly service: string;
  readonly groupId: string;
  readonly deadLetterTopic: string;
  readonly redriveTopic: string;
  readonly pool: Pool;
  readonly naming: KafkaNaming;
  readonly publisher: OutboxPublisher;
  readonly logger: Logger;
  readonly policy: RetryPolicy;
  /** The use case's counters and histograms (no-ops unless the service provides metrics). */
  readonly metrics: UseCaseMetrics;
  /** The versions the use case reads: declared, and older ones it receives upcast. */
  readonly readableEvents: ReadableEvents;
  /** Decodes, validates, upcasts and checks a message; throws a poison error (dead-letter at once) when it cannot be used. */
  read(message: IncomingMessage): ReceivedEnvelope;
  /** Writes the message to this use case's dead-letter topic; resolves once Kafka has it. */
  deadLetter(message: IncomingMessage, failure: DeadLetterFailure): Promise<void>;
  /** What letters written in a transaction (through the outbox) carry, as deadLetter's do. */
  readonly deadLetterOptions: DeadLetterOptions;
  /** The partitions this member holds since the last rebalance. */
  readonly assignment: readonly TopicPartition[];
  /** Commits the next offset to read of a partition; false when refused (after a rebalance: the next owner goes on from the last good commit). */
  commit(partition: TopicPartition, offset: string): Promise<boolean>;
  /**
   * A handler's context in `tx`: what it publishes is caused by `cause` (correlation, causation)
   * and goes on in the trace of `traceparent` (the handling's span), else in the cause's.
   */
  handlerContext(tx: SqlClient, cause: CausingEvents, committed: AfterCommit, traceparent?: string): HandlerContext;
}

/** The events a handler's result is caused by: the conversation of the first, the last one itself. */
export type CausingEvents = ReceivedEnvelope | readonly ReceivedEnvelope[];

/**
 * Metadata of what is published because of `cause`: same correlation id, caused by it, and in
 * the trace of `traceparent` (the span handling it) or, without one, of the last event.
 */
export function causedBy(cause: CausingEvents, traceparent?: string): EventMetadata {
  const events: readonly ReceivedEnvelope[] = Array.isArray(cause) ? cause : [cause as ReceivedEnvelope];
  const first = events[0];
  const last = events[events.length - 1];
  return { correlationId: first?.correlationId, causationId: last?.id, traceparent: traceparent ?? last?.traceparent };
}

/** The log context of handling `envelope` in `group`: where it was read, its correlation id and the trace of its handling. */
export function messageLogContext(group: string, envelope: ReceivedEnvelope, traceparent = envelope.traceparent): LogContext {
  return { group, topic: envelope.topic, partition: envelope.partition, offset: envelope.offset, correlationId: envelope.correlationId, traceparent };
}

/**
 * One way of handling a use case's messages inside the consumer runtime: event by event, or in
 * windows. The runtime owns the group membership, the fetch loop, commits and dead letters.
 */
export interface Handling {
  start(): void;
  /** A fetched batch of one partition; resolves with the offset of the last message taken, or undefined if none was. */
  take(batch: PartitionBatch): Promise<string | undefined>;
  /** The group is rebalancing: partitions may move, in-memory state goes; the fetch resumes at the committed offsets. */
  rebalancing(): void;
  /** Stops taking work; work in flight gets until the deadline; what finished is committed. */
  stop(deadlineMs: number): Promise<void>;
  /** Events waiting behind failing keys. */
  readonly parked: number;
}

/** Resolves when `work` settles or after `ms`, whichever is first. */
export async function withinDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
