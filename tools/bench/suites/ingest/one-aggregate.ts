import { randomUUID } from 'node:crypto';
import type { EndpointUpdated } from '@platform/contracts';
import { CommandHandler, type Decider, type PostgresEventStore, type SnapshotPolicy } from '@platform/event-store';
import type { TestDatabase } from '@platform/testing';
import { ingest, medianMs, type Ingested } from './measure';
import { lengthWarnings, message, MESSAGE_TYPE, outboxed, publisher, storeOn } from './messages';

/** The one entity of the anti-pattern: every message ever received, in one stream. */
const FEED = 'feed';
/** The event that opens the feed's books after a closing: the latest message of each source. */
const BOOKS_OPENED = 'FeedBooksOpened';

type Received = { readonly type: string; readonly data: EndpointUpdated };
type BooksOpened = { readonly type: typeof BOOKS_OPENED; readonly data: { readonly latest: EndpointUpdated[]; readonly received: number } };
type FeedEvent = Received | BooksOpened;
// The message type comes from the contract (a string), so the union needs a guard to narrow.
const isOpening = (event: FeedEvent): event is BooksOpened => event.type === BOOKS_OPENED;

interface FeedState {
  readonly messages: EndpointUpdated[];
  readonly received: number;
}

/**
 * The seed question's aggregate: a list of all messages, growing by one per command. (evolve
 * pushes onto the list rather than copying it, or the fold alone would be quadratic.)
 */
const feed: Decider<{ readonly message: EndpointUpdated }, FeedEvent, FeedState> = {
  initialState: () => ({ messages: [], received: 0 }),
  evolve: (state, event) => {
    if (isOpening(event)) return { messages: [...event.data.latest], received: event.data.received };
    state.messages.push((event as Received).data);
    return { messages: state.messages, received: state.received + 1 };
  },
  decide: (command) => [{ type: MESSAGE_TYPE, data: command.message }],
};

/** The summary a closing writes: what is still needed, the latest message per source. */
function openingBalance(state: FeedState): FeedEvent {
  const latest = new Map<string, EndpointUpdated>();
  for (const m of state.messages) latest.set(m.apiId, m);
  return { type: BOOKS_OPENED, data: { latest: [...latest.values()], received: state.received } };
}

export const SNAPSHOTS: SnapshotPolicy<FeedState> = { every: 100, schemaVersion: 1 };

/** (a) Load, decide, append per message, with the outbox row; one writer, since every command hits the same stream. */
export async function oneAggregateIngest(store: PostgresEventStore, count: number, budgetSeconds: number, snapshots?: SnapshotPolicy<FeedState>): Promise<Ingested> {
  const handler = new CommandHandler(store, feed, snapshots ? { snapshots } : {});
  return ingest(
    count,
    1,
    (i) =>
      store.transaction(async (tx) => {
        const payload = message(i);
        await handler.handle(FEED, { message: payload }, { writer: tx });
        await publisher.publishAll(tx.sql, outboxed(payload));
      }),
    budgetSeconds,
  );
}

export interface OneAggregateResult {
  readonly plain: Ingested;
  readonly snapshotted: Ingested;
  /** Loads of the whole feed of `count` messages: from its events, from a snapshot of its state, and after closing its books. */
  readonly loadMs: number;
  readonly loadFromSnapshotMs: number;
  readonly closeBooksMs: number;
  readonly loadAfterClosingMs: number;
  readonly archived: number;
  readonly lengthWarnings: readonly string[];
  readonly lengthCrossings: number;
}

/**
 * (a) twice, each for at most `budgetSeconds`: without snapshots, then with one every 100
 * events. Then the first feed is completed to `count` messages with untimed 1,000-event appends,
 * and loaded: from its events, from a snapshot of its final state, and after closing its books.
 */
export async function oneAggregate(
  databases: { plain: TestDatabase; snapshotted: TestDatabase },
  count: number,
  budgetSeconds: number,
  progress: (message: string) => void,
): Promise<OneAggregateResult> {
  const watch = lengthWarnings();
  const store = storeOn(databases.plain, watch);
  const snapshotStore = storeOn(databases.snapshotted);
  try {
    const plain = await oneAggregateIngest(store, count, budgetSeconds);
    progress(`(a) without snapshots: ${plain.messages} messages in ${plain.seconds.toFixed(1)} s`);
    const snapshotted = await oneAggregateIngest(snapshotStore, count, budgetSeconds, SNAPSHOTS);
    progress(`(a) with a snapshot every ${SNAPSHOTS.every}: ${snapshotted.messages} messages in ${snapshotted.seconds.toFixed(1)} s`);

    for (let i = plain.messages; i < count; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({ id: randomUUID(), type: MESSAGE_TYPE, data: message(i + k) }));
      await store.append(FEED, batch);
    }
    await databases.plain.pool.query('VACUUM ANALYZE event_store.events');
    const handler = new CommandHandler(store, feed);
    const loaded = await handler.load(FEED);
    if (loaded.state.received !== count) throw new Error(`the feed holds ${loaded.state.received} of ${count} messages`);
    const loadMs = await medianMs(3, () => handler.load(FEED));
    const withSnapshots = new CommandHandler(store, feed, { snapshots: SNAPSHOTS });
    await store.writeSnapshot({ streamId: FEED, schemaVersion: SNAPSHOTS.schemaVersion, streamVersion: loaded.version, state: loaded.state });
    const loadFromSnapshotMs = await medianMs(3, () => withSnapshots.load(FEED));

    const t0 = process.hrtime.bigint();
    const closed = await handler.closeBooks(FEED, openingBalance);
    const closeBooksMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const reopened = await handler.load(FEED);
    if (reopened.state.received !== count || reopened.eventsReplayed !== 1) throw new Error('the feed did not load from its opening balance');
    const loadAfterClosingMs = await medianMs(21, () => handler.load(FEED));
    return {
      plain,
      snapshotted,
      loadMs,
      loadFromSnapshotMs,
      closeBooksMs,
      loadAfterClosingMs,
      archived: closed.archived,
      lengthWarnings: watch.warnings,
      lengthCrossings: watch.crossings(),
    };
  } finally {
    store.close();
    snapshotStore.close();
  }
}
