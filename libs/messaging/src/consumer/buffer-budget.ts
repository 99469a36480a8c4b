import type { IncomingMessage } from '../kafka/broker';

/** Unless a service says otherwise: what all of a process's use cases may hold fetched and not yet handled. */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** What a fetched message holds in memory: its bytes and, decoded, about as much again in objects and strings. */
export const bufferedBytes = (message: IncomingMessage): number => 2 * (message.value?.length ?? 0) + 512;

/**
 * The bytes of fetched, unhandled messages a process's partition processors hold together. A
 * processor hands a batch back to the fetch loop as soon as it is buffered, so the fetch budget
 * (fetched, not handed back) does not bound these: twenty use cases catching up a backlog held
 * about 100 messages in each of their 120 partitions, most of them waiting for one of the
 * pool's few connections. Over the budget, a partition that still holds unhandled messages
 * keeps its batch (and so its fetch) until it has handled them or the budget has room again;
 * one whose buffer is empty may always take a batch, so every partition makes progress.
 */
export class BufferBudget {
  private used = 0;

  constructor(readonly totalBytes: number = DEFAULT_MAX_BUFFERED_BYTES) {
    if (!(totalBytes > 0)) throw new Error(`a buffer budget must be a positive number of bytes (got ${totalBytes})`);
  }

  get heldBytes(): number {
    return this.used;
  }

  get exhausted(): boolean {
    return this.used >= this.totalBytes;
  }

  hold(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
