import type { EventStore } from '../../src';
import { appendConformance } from './append.conformance';
import { readConformance } from './read.conformance';
import { aggregateConformance } from './aggregate.conformance';

export interface ConformanceSubject {
  readonly store: EventStore;
  close(): Promise<void>;
}

/**
 * The store's contract, for any implementation: appends with expected versions, idempotent
 * retries, stream and global reads, snapshots and aggregate loading. The factory runs once;
 * tests use their own streams and event types, so they need no empty store.
 */
export function describeEventStoreConformance(name: string, factory: () => Promise<ConformanceSubject>): void {
  describe(`event store conformance: ${name}`, () => {
    let subject: ConformanceSubject | undefined;
    const store = (): EventStore => {
      if (!subject) throw new Error('conformance subject not created');
      return subject.store;
    };

    beforeAll(async () => {
      subject = await factory();
    });
    afterAll(async () => {
      await subject?.close();
    });

    appendConformance(store);
    readConformance(store);
    aggregateConformance(store);
  });
}
