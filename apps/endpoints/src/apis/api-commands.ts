import { Injectable } from '@nestjs/common';
import { CommandHandler, ConcurrencyError, PostgresEventStore, StreamOrderError } from '@platform/event-store';
import { OutboxPublisher } from '@platform/messaging';
import { EntityNotFound, nestLogger, Transactions } from '@platform/service-kit';
import { API_SNAPSHOTS, apiDecider, apiStream, type ApiCommand, type ApiState } from './api';
import type { ApiEvent } from './api.events';
import { integrationEventFor } from './api.integration';

export interface CommandOutcome {
  readonly state: ApiState;
  readonly version: number;
}

/**
 * Runs a command against one API's stream: load (from a snapshot when there is one), decide,
 * append with the loaded version expected, and write the integration events to the outbox in
 * the same transaction as the append. With If-Match, a concurrent change is a 409; without,
 * the command is decided again on the fresh state.
 */
@Injectable()
export class ApiCommands {
  private readonly handler: CommandHandler<ApiCommand, ApiEvent, ApiState>;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly transactions: Transactions,
    private readonly publisher: OutboxPublisher,
  ) {
    this.handler = new CommandHandler(store, apiDecider, { snapshots: API_SNAPSHOTS, logger: nestLogger('ApiCommands') });
  }

  async execute(apiId: string, command: ApiCommand, options: { ifMatch?: number; correlationId: string }): Promise<CommandOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactions.run(async ({ sql }) => {
          const result = await this.handler.handle(apiStream(apiId), command, {
            expectedVersion: options.ifMatch,
            writer: this.store.inTransaction(sql),
            metadata: { correlationId: options.correlationId },
          });
          const first = result.version - result.events.length;
          await this.publisher.publishAll(
            sql,
            result.events.map((event, i) => ({
              ...integrationEventFor(event, result.state, first + i + 1),
              metadata: { correlationId: options.correlationId, causationId: event.id },
            })),
          );
          return { state: result.state, version: result.version };
        });
      } catch (error) {
        if (error instanceof EntityNotFound && error.entity === 'API') throw new EntityNotFound('API', apiId);
        if (error instanceof ConcurrencyError && error.actual === 0) throw new EntityNotFound('API', apiId);
        const lostRace = error instanceof StreamOrderError || (error instanceof ConcurrencyError && options.ifMatch === undefined);
        if (!lostRace || attempt >= 5) throw error;
      }
    }
  }
}
