import { errorFields, type Logger } from '@platform/core';

/**
 * Callbacks a handler registers for after its transaction: run once it committed, dropped if
 * it rolled back. For what lives outside the database (a metric, a cache, a push to a
 * browser); anything that must happen belongs in the transaction or the outbox instead.
 */
export class AfterCommit {
  private readonly callbacks: (() => void)[] = [];

  readonly add = (callback: () => void): void => {
    this.callbacks.push(callback);
  };

  /** Moves another set's callbacks here (a savepoint's, once it is released). */
  adopt(other: AfterCommit): void {
    this.callbacks.push(...other.callbacks.splice(0));
  }

  /** Runs each callback once. The effects are committed by now, so a throwing callback is only logged. */
  run(logger: Logger): void {
    for (const callback of this.callbacks.splice(0)) {
      try {
        callback();
      } catch (error) {
        logger.warn('an afterCommit callback failed', errorFields(error));
      }
    }
  }
}
