import type { EventClass } from '@platform/contracts';
import { EventHandling, type EventHandlingOptions } from '../consumer/event-handling';
import type { ConsumerRuntime, Handling } from '../consumer/handling';
import type { EnvelopeOf, HandlerContext, UseCase } from '../consumer/use-case';
import type { PartitionBatch } from '../kafka/broker';
import type { Saga } from './saga';
import { applyMessage } from './saga-step';
import { TimeoutFirer } from './timeout-firer';

/**
 * Handling a saga inside the consumer runtime: its messages go through event-by-event
 * handling (inbox, retries, parking, dead letters), each applied to its instance under the
 * instance's row lock; its timeouts are fired by a TimeoutFirer through the same inbox.
 */
export class SagaHandling implements Handling {
  readonly firer: TimeoutFirer;
  private readonly events: EventHandling;

  constructor(runtime: ConsumerRuntime, saga: Saga, options: EventHandlingOptions = {}) {
    this.firer = new TimeoutFirer(runtime, saga);
    const firer = this.firer;
    // Its series exist from the start, so a rate over them does before the first timeout.
    const metrics = runtime.metrics.saga;
    const useCase: UseCase<readonly EventClass[]> = {
      name: saga.name,
      events: saga.events,
      retry: saga.retry,
      // One message a transaction: instances locked in different orders by bigger transactions could deadlock.
      maxPerTransaction: 1,
      async handle(message: EnvelopeOf<readonly EventClass[]>, { tx, afterCommit }: HandlerContext): Promise<void> {
        const scheduled: number[] = [];
        const compensated: string[] = [];
        await applyMessage({ tx, group: runtime.groupId, saga, publisher: runtime.publisher, logger: runtime.logger, scheduled, compensated }, message);
        afterCommit(() => {
          scheduled.forEach((at) => firer.wake(at));
          metrics.stepsCompensated(compensated);
        });
      },
    };
    this.events = new EventHandling(runtime, useCase, options);
  }

  get parked(): number {
    return this.events.parked;
  }

  start(): void {
    this.events.start();
    this.firer.start();
  }

  take(batch: PartitionBatch): Promise<string | undefined> {
    return this.events.take(batch);
  }

  rebalancing(): void {
    this.events.rebalancing();
  }

  async stop(deadlineMs: number): Promise<void> {
    await Promise.all([this.events.stop(deadlineMs), this.firer.stop()]);
  }
}
