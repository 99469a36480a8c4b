import type { Pool, PoolClient } from 'pg';
import { errorMessage, type Logger } from '@platform/core';
import { APPEND_CHANNEL } from '../schema/append-function.sql';

const RELISTEN_AFTER_MS = 2000;

/**
 * Wake-ups for readers: a generation counter bumped when this process commits an append and
 * when a NOTIFY arrives from another. Appends made through the store's own transactions
 * NOTIFY after commit rather than inside, because a notifying transaction holds a
 * cluster-wide lock through its commit and would serialize every appender; and they share
 * NOTIFYs under load, each of which costs a round trip.
 */
export class AppendSignals {
  private generation = 0;
  private readonly waiters = new Set<() => void>();
  private notifying = false;
  private notifyAgain = false;
  private lastNotifyAt = 0;
  private notifyTimer?: NodeJS.Timeout;
  private listenerRefs = 0;
  private listener?: PoolClient;
  private connecting = false;
  private relistenTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    /** Minimum gap between two NOTIFYs this process sends; other processes' readers wait at most this much longer. */
    private readonly notifyIntervalMs = 10,
  ) {}

  /** Read before reading events; pass to wait() so a signal in between is not missed. */
  get current(): number {
    return this.generation;
  }

  /** After this process committed appends: wake local readers now, other processes via NOTIFY. */
  appended(): void {
    this.bump();
    this.sendNotify();
  }

  /** Resolves on a signal newer than `since`, after `timeoutMs`, or when `abort` fires. */
  wait(since: number, timeoutMs: number, abort?: AbortSignal): Promise<void> {
    if (this.generation !== since || abort?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        abort?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      abort?.addEventListener('abort', done);
    });
  }

  /** Subscriptions hold a LISTEN connection while any of them runs. */
  retainListener(): void {
    this.listenerRefs += 1;
    this.listen();
  }

  releaseListener(): void {
    this.listenerRefs = Math.max(0, this.listenerRefs - 1);
    if (this.listenerRefs === 0) this.unlisten();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.notifyTimer);
    this.notifyTimer = undefined;
    this.unlisten();
    for (const waiter of [...this.waiters]) waiter();
  }

  private bump(): void {
    this.generation += 1;
    for (const waiter of [...this.waiters]) waiter();
  }

  // At most one NOTIFY in flight and one per notifyIntervalMs: under load the appends of many
  // commits share one. A NOTIFY covers the commits before it was sent; appends meanwhile ask
  // for the next, since listeners may read before their commits became visible.
  private sendNotify(): void {
    if (this.closed) return;
    if (this.notifying || this.notifyTimer) {
      this.notifyAgain = true;
      return;
    }
    const waitMs = this.lastNotifyAt + this.notifyIntervalMs - Date.now();
    if (waitMs > 0) {
      this.notifyTimer = setTimeout(() => {
        this.notifyTimer = undefined;
        this.sendNotify();
      }, waitMs);
      return;
    }
    this.notifying = true;
    this.notifyAgain = false;
    this.lastNotifyAt = Date.now();
    this.pool
      .query('SELECT pg_notify($1, $2)', [APPEND_CHANNEL, ''])
      .catch((error: unknown) => this.logger.warn('event store NOTIFY failed; listeners fall back to polling', { error: errorMessage(error) }))
      .finally(() => {
        this.notifying = false;
        if (this.notifyAgain) this.sendNotify();
      });
  }

  private listen(): void {
    if (this.closed || this.listener || this.connecting || this.listenerRefs === 0) return;
    this.connecting = true;
    void this.connectListener().finally(() => (this.connecting = false));
  }

  private async connectListener(): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const connected = client;
      connected.on('notification', () => this.bump());
      connected.on('error', (error) => {
        this.logger.warn('event store LISTEN connection failed; polling until it is back', { error: error.message });
        if (this.listener !== connected) return;
        this.listener = undefined;
        connected.release(error);
        this.relistenLater();
      });
      await connected.query(`LISTEN ${APPEND_CHANNEL}`);
      this.listener = connected;
      // Appends committed while nobody listened: let readers look once.
      this.bump();
      if (this.closed || this.listenerRefs === 0) this.unlisten();
    } catch (error) {
      if (client && this.listener !== client) client.release(error as Error);
      this.logger.warn('event store could not LISTEN; polling until it can', { error: errorMessage(error) });
      this.relistenLater();
    }
  }

  private relistenLater(): void {
    if (this.closed || this.relistenTimer) return;
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = undefined;
      this.listen();
    }, RELISTEN_AFTER_MS);
    this.relistenTimer.unref();
  }

  private unlisten(): void {
    clearTimeout(this.relistenTimer);
    this.relistenTimer = undefined;
    const client = this.listener;
    this.listener = undefined;
    if (!client) return;
    client.removeAllListeners('notification');
    client
      .query(`UNLISTEN ${APPEND_CHANNEL}`)
      .then(() => client.release())
      .catch((error: Error) => client.release(error));
  }
}
