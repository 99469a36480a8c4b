import type { PendingEvent } from '../outbox/publisher';
import type { SagaDecision, SagaEnding, ScheduledTimeout } from './saga';

/**
 * Collects a saga's decision step by step, keeping only the net effect on its timeouts: the
 * library cancels before it schedules, so a timeout scheduled and then cancelled by the same
 * input must end up cancelled, and one cancelled and then scheduled again simply moves.
 */
export class DecisionBuilder {
  private readonly sent: PendingEvent[] = [];
  private readonly scheduled = new Map<string, ScheduledTimeout>();
  private readonly cancelled = new Set<string>();
  private ending?: SagaEnding;

  send(...events: readonly PendingEvent[]): void {
    this.sent.push(...events);
  }

  schedule(timeout: ScheduledTimeout): void {
    this.cancelled.delete(timeout.name);
    this.scheduled.set(timeout.name, timeout);
  }

  cancel(name: string): void {
    this.scheduled.delete(name);
    this.cancelled.add(name);
  }

  end(ending: SagaEnding): void {
    this.ending = ending;
  }

  build(): SagaDecision {
    return {
      ...(this.sent.length > 0 ? { send: [...this.sent] } : {}),
      ...(this.ending ? { end: this.ending } : {}),
      ...(!this.ending && this.scheduled.size > 0 ? { schedule: [...this.scheduled.values()] } : {}),
      ...(!this.ending && this.cancelled.size > 0 ? { cancel: [...this.cancelled] } : {}),
    };
  }
}
