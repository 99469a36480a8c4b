import { Injectable } from '@nestjs/common';
import { backoffDelayMs, sleep, type Backoff, type Logger, type SqlClient } from '@platform/core';
import { CommandHandler, ConcurrencyError, PostgresEventStore, StreamOrderError } from '@platform/event-store';
import { OutboxPublisher } from '@platform/messaging';
import { assertMayChange, EntityNotFound, serviceLogger, Transactions } from '@platform/service-kit';
import { API_SNAPSHOTS, apiDecider, apiStream, type ApiCommand, type ApiState } from './api';
import type { ApiEvent } from './api.events';
import { integrationEventFor } from './api.integration';

export interface CommandOutcome {
  readonly state: ApiState;
  readonly version: number;
}

/** How long a command that lost the race for the API's next version keeps trying. */
export interface RaceRetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** No attempt starts later than this after the first one did. */
  readonly maxTotalMs: number;
  /** The wait before each retry (with jitter, so that the losers of one race do not meet again). */
  readonly backoff: Backoff;
}

/**
 * 50 concurrent writers of one API resolve in a few hundred ms; the bounds stop a request from
 * waiting forever behind a stream that is written faster than it can win.
 */
export const RACE_RETRY: RaceRetryPolicy = { maxAttempts: 50, maxTotalMs: 5_000, backoff: { initialMs: 5, maxMs: 250, multiplier: 2 } };

/**
 * A command without If-Match lost the race for the API's next version on every attempt the
 * retry policy allowed. Nothing was applied; the same request may simply be sent again (503
 * with Retry-After: it is contention, not a conflict the client could resolve).
 */
export class CommandContention extends Error {
  override readonly name = 'CommandContention';
  readonly retriable = true;

  constructor(
    readonly apiId: string,
    readonly attempts: number,
    readonly elapsedMs: number,
    lastError: unknown,
  ) {
    super(`API ${apiId} is being changed by many requests at once: this change lost the race for its next version ${attempts} times in ${elapsedMs} ms and was not applied; send it again`, { cause: lastError });
  }
}

/**
 * Whether an attempt's error is a lost race to retry on fresh state: always a StreamOrderError
 * (a transaction-ordering artefact, never a version the client asserted), and a concurrency
 * error only when the client asserted no version. With If-Match a newer version stays a 409.
 */
export function lostRace(error: unknown, ifMatch: number | undefined): boolean {
  return error instanceof StreamOrderError || (error instanceof ConcurrencyError && ifMatch === undefined);
}

/**
 * Runs `attempt` until it succeeds, fails otherwise than by a lost race, or the policy's attempts
 * or time run out (then CommandContention). Waits between attempts with the shared back-off.
 */
export async function retryLostRaces<T>(
  apiId: string,
  ifMatch: number | undefined,
  attempt: () => Promise<T>,
  options: { readonly policy?: RaceRetryPolicy; readonly logger?: Logger; readonly now?: () => number; readonly sleep?: (ms: number) => Promise<void>; readonly random?: () => number } = {},
): Promise<T> {
  const { policy = RACE_RETRY, now = Date.now, random = Math.random } = options;
  const wait = options.sleep ?? sleep;
  const started = now();
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (!lostRace(error, ifMatch)) throw error;
      const delay = backoffDelayMs(policy.backoff, attempts, random);
      const elapsed = now() - started;
      if (attempts >= policy.maxAttempts || elapsed + delay > policy.maxTotalMs) {
        options.logger?.warn('command gave up after losing every race for the next version', { apiId, attempts, elapsedMs: elapsed });
        throw new CommandContention(apiId, attempts, elapsed, error);
      }
      await wait(delay);
    }
  }
}

/**
 * Runs a command against one API's stream: load (from a snapshot when there is one), decide,
 * append with the loaded version expected, and write the integration events to the outbox in
 * the same transaction as the append. With If-Match, a concurrent change is a 409; without,
 * the client asserted no version, so a lost race is decided again on the fresh state (bounded
 * by RACE_RETRY, then CommandContention: 503) and only the domain can refuse it.
 */
@Injectable()
export class ApiCommands {
  private readonly handler: CommandHandler<ApiCommand, ApiEvent, ApiState>;
  private readonly logger = serviceLogger('ApiCommands');

  constructor(
    private readonly store: PostgresEventStore,
    private readonly transactions: Transactions,
    private readonly publisher: OutboxPublisher,
  ) {
    this.handler = new CommandHandler(store, apiDecider, { snapshots: API_SNAPSHOTS, logger: this.logger });
  }

  /**
   * `actor`: the user the request acts for; a command on an API someone else owns is refused
   * (403), decided on the stream's state in the command's own transaction.
   */
  async execute(apiId: string, command: ApiCommand, options: { ifMatch?: number; correlationId: string; actor?: string }): Promise<CommandOutcome> {
    try {
      return await retryLostRaces(apiId, options.ifMatch, () => this.attempt(apiId, command, options), { logger: this.logger });
    } catch (error) {
      if (error instanceof EntityNotFound && error.entity === 'API') throw new EntityNotFound('API', apiId);
      if (error instanceof ConcurrencyError && error.actual === 0) throw new EntityNotFound('API', apiId);
      throw error;
    }
  }

  /**
   * One command in the caller's transaction (a use case's inbox transaction): append and
   * integration events commit with the caller's work; a lost race fails the whole transaction.
   */
  async executeIn(sql: SqlClient, apiId: string, command: ApiCommand, metadata: { expectedVersion?: number; correlationId?: string }): Promise<CommandOutcome> {
    const result = await this.handler.handle(apiStream(apiId), command, {
      expectedVersion: metadata.expectedVersion,
      writer: this.store.inTransaction(sql),
      metadata: { correlationId: metadata.correlationId },
    });
    const first = result.version - result.events.length;
    const integration = result.events.flatMap((event, i) => {
      const pending = integrationEventFor(event, result.state, first + i + 1);
      return pending ? [{ ...pending, metadata: { correlationId: metadata.correlationId, causationId: event.id } }] : [];
    });
    await this.publisher.publishAll(sql, integration);
    return { state: result.state, version: result.version };
  }

  /** The API's current state as its stream says, read in the caller's transaction. */
  async load(sql: SqlClient, apiId: string): Promise<CommandOutcome> {
    const { state, version } = await this.handler.load(apiStream(apiId), this.store.inTransaction(sql));
    return { state, version };
  }

  private attempt(apiId: string, command: ApiCommand, options: { ifMatch?: number; correlationId: string; actor?: string }): Promise<CommandOutcome> {
    return this.transactions.run(async ({ sql }) => {
      if (options.actor !== undefined && command.type !== 'CreateApi') {
        const current = await this.load(sql, apiId);
        if (current.version === 0) throw new EntityNotFound('API', apiId);
        assertMayChange({ userId: options.actor, roles: [] }, current.state.ownerId, `API ${apiId}`);
      }
      return this.executeIn(sql, apiId, command, { expectedVersion: options.ifMatch, correlationId: options.correlationId });
    });
  }
}
