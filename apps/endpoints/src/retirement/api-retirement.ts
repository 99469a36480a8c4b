import { Injectable } from '@nestjs/common';
import type { SqlClient } from '@platform/core';
import { CommandHandler, ConcurrencyError, PostgresEventStore, StreamOrderError } from '@platform/event-store';
import { RetriableError } from '@platform/messaging';
import { BusinessRuleViolation } from '@platform/service-kit';
import { ApiCommands } from '../apis/api-commands';
import type { ApiCommand } from '../apis/api';
import { CANCELLED_BEFORE_RETIREMENT, retirementDecider, retirementStream, type RetirementCommand, type RetirementEvent, type RetirementState } from './retirement';

export type RetirementAnswer = { readonly outcome: 'retired' | 'restored'; readonly apiIds: readonly string[] } | { readonly outcome: 'refused'; readonly reason: string; readonly apiIds: readonly string[] };

/**
 * Retiring and restoring an owner's APIs for one closure, through the aggregates, in the
 * caller's (the use case's inbox) transaction: all of them or none. A write that lost a race
 * (a concurrent change, or a hold placed since the check) fails the transaction as retriable,
 * so the message is handled again on fresh state.
 */
@Injectable()
export class ApiRetirement {
  private readonly retirements: CommandHandler<RetirementCommand, RetirementEvent, RetirementState>;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly apis: ApiCommands,
  ) {
    this.retirements = new CommandHandler(store, retirementDecider);
  }

  async retire(sql: SqlClient, closureId: string, ownerId: string, correlationId: string): Promise<RetirementAnswer> {
    const { state, version } = await this.retirements.load(retirementStream(closureId), this.store.inTransaction(sql));
    const recorded = answerRecorded(state);
    if (recorded) return recorded;
    // The catalog is a projection: an API created a moment ago may not be in it yet (README: limits).
    const { rows } = await sql.query<{ api_id: string }>('SELECT api_id FROM api_catalog WHERE owner_id = $1 ORDER BY api_id', [ownerId]);
    const owned = await Promise.all(rows.map(async ({ api_id }) => ({ apiId: api_id, ...(await this.apis.load(sql, api_id)) })));
    const held = owned.filter((api) => api.state.retentionHold !== null);
    if (held.length > 0) {
      const reason = held.map((api) => `API ${api.state.name} (${api.apiId}) is under a retention hold: ${api.state.retentionHold}`).join('; ');
      const apiIds = held.map((api) => api.apiId);
      await this.record(sql, closureId, { type: 'RecordRefusal', ownerId, reason, apiIds }, version, correlationId);
      return { outcome: 'refused', reason, apiIds };
    }
    const retired: string[] = [];
    for (const api of owned.filter((a) => a.state.status !== 'retired')) {
      await this.apply(sql, api.apiId, { type: 'RetireApi', closureId }, api.version, correlationId);
      retired.push(api.apiId);
    }
    await this.record(sql, closureId, { type: 'RecordRetirement', ownerId, apiIds: retired }, version, correlationId);
    return { outcome: 'retired', apiIds: retired };
  }

  async restore(sql: SqlClient, closureId: string, ownerId: string, correlationId: string): Promise<RetirementAnswer> {
    const { state, version } = await this.retirements.load(retirementStream(closureId), this.store.inTransaction(sql));
    if (state.status === 'retired') {
      for (const apiId of state.apiIds) await this.apply(sql, apiId, { type: 'RestoreApi', closureId }, undefined, correlationId);
    }
    await this.record(sql, closureId, { type: 'RecordRestoration', ownerId }, version, correlationId);
    return { outcome: 'restored', apiIds: state.status === 'retired' || state.status === 'restored' ? state.apiIds : [] };
  }

  /**
   * Records the closure's outcome at the version this transaction decided on. What was done
   * to the APIs follows from the state read at `decidedAt`: a retirement or restoration
   * recorded by the other use case since then fails the append (handled again, fresh), so the
   * record can never claim what was not done (a restoration that restored nothing because it
   * read the stream just before the retirement committed).
   */
  private async record(sql: SqlClient, closureId: string, command: RetirementCommand, decidedAt: number, correlationId: string): Promise<void> {
    await this.retrying(() =>
      this.retirements.handle(retirementStream(closureId), command, { writer: this.store.inTransaction(sql), expectedVersion: decidedAt, metadata: { correlationId } }),
    );
  }

  private async apply(sql: SqlClient, apiId: string, command: ApiCommand, expectedVersion: number | undefined, correlationId: string): Promise<void> {
    await this.retrying(() => this.apis.executeIn(sql, apiId, command, { expectedVersion, correlationId }));
  }

  /**
   * Lost races, a hold placed meanwhile, and the closure's retirement decided meanwhile (the
   * restoration handled at the same time by the other use case): the transaction is handled
   * again, on fresh state, and then answers what was decided.
   */
  private async retrying<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const raced = error instanceof BusinessRuleViolation && (error.code === 'retention-hold' || error.code === 'retirement-decided');
      if (error instanceof ConcurrencyError || error instanceof StreamOrderError || raced) {
        throw new RetriableError(`account closure: ${(error as Error).message}; handled again on fresh state`, { cause: error });
      }
      throw error;
    }
  }
}

/** What was answered before for this closure, answered again; undefined when nothing was decided yet. */
function answerRecorded(state: RetirementState): RetirementAnswer | undefined {
  switch (state.status) {
    case 'none':
      return undefined;
    case 'retired':
      return { outcome: 'retired', apiIds: state.apiIds };
    case 'refused':
      return { outcome: 'refused', reason: state.reason ?? 'refused', apiIds: state.apiIds };
    case 'restored':
      return { outcome: 'refused', reason: CANCELLED_BEFORE_RETIREMENT, apiIds: [] };
  }
}
