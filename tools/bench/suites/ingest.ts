/**
 * The ingest suite (issue 14, item 6): the seed's "persistent entities with streams of data"
 * question. 50,000 incoming messages of about 320 bytes from 200 sources, each persisted and
 * published through the outbox (its row in the same transaction, as the services do), three ways:
 *   (a) one event-sourced aggregate holding them all: load, decide, append per message, without
 *       and with snapshots, one writer (each command needs the stream's latest version), within
 *       a time budget: it slows down with every message;
 *   (b) one stream per source key, appended without loading, 8 writers;
 *   (c) rows of a plain table with the outbox row, 8 writers: the hand-built peer every ratio is
 *       against.
 * For each: messages/s, peak RSS growth (and the heap kept after a full collection), and the time to load the entity at the end (the whole
 * feed; one source's stream; one source's rows). The feed is then completed to 50,000 messages
 * (untimed) and loaded from its events, from a snapshot, and after closing its books.
 * The outbox relay, the same for all three, is measured by the messaging suite.
 */
import type { BenchContext, BenchSuite } from '../bench';
import { ingestDatabase, MESSAGE_BYTES, message, SOURCES } from './ingest/messages';
import { oneAggregate } from './ingest/one-aggregate';
import { plainTable, type VariantResult } from './ingest/plain-table';
import { streamPerSource } from './ingest/stream-per-source';
import type { Ingested } from './ingest/measure';

const WRITERS = 8;

function recordIngest(ctx: BenchContext, name: string, result: Ingested, peer?: Ingested): void {
  ctx.record(`${name}_msgs_per_s`, result.messages / result.seconds, 'msgs/s', peer && { metric: 'c_plain_table_msgs_per_s', value: peer.messages / peer.seconds });
  ctx.record(`${name}_messages`, result.messages, 'messages');
  ctx.record(`${name}_rss_growth_mb`, result.rssGrowthMb, 'MB', peer && { metric: 'c_plain_table_rss_growth_mb', value: peer.rssGrowthMb, lowerIsBetter: true });
  ctx.record(`${name}_heap_retained_mb`, result.heapRetainedMb, 'MB');
}

function recordLoad(ctx: BenchContext, metric: string, ms: number, peer?: VariantResult): void {
  ctx.record(metric, ms, 'ms', peer && { metric: 'c_plain_table_load_source_ms', value: peer.loadMs, lowerIsBetter: true });
}

const suite: BenchSuite = async (ctx) => {
  const count = ctx.quick ? 5_000 : 50_000;
  const budgetSeconds = ctx.quick ? 10 : 60;
  ctx.progress(`${count} messages of ${JSON.stringify(message(0)).length} bytes (target ${MESSAGE_BYTES}) from ${SOURCES} sources; (b) and (c) with ${WRITERS} writers`);
  const databases = [];
  try {
    // Warm-up, unrecorded: the first phase would otherwise pay for the JIT, the pools and the pg type caches.
    const warmTable = await ingestDatabase('warm_table');
    const warmStreams = await ingestDatabase('warm_streams');
    databases.push(warmTable, warmStreams);
    await plainTable(warmTable, 500, WRITERS);
    await streamPerSource(warmStreams, 500, WRITERS);

    const tableDb = await ingestDatabase('table');
    databases.push(tableDb);
    ctx.progress('(c) plain table + outbox');
    const table = await plainTable(tableDb, count, WRITERS);
    recordIngest(ctx, 'c_plain_table', table);
    recordLoad(ctx, 'c_plain_table_load_source_ms', table.loadMs);
    ctx.progress(`(c) one source's rows: ${table.loaded}`);

    const streamsDb = await ingestDatabase('streams');
    databases.push(streamsDb);
    ctx.progress('(b) one stream per source + outbox');
    const streams = await streamPerSource(streamsDb, count, WRITERS);
    recordIngest(ctx, 'b_stream_per_source', streams, table);
    recordLoad(ctx, 'b_stream_per_source_load_source_ms', streams.loadMs, table);
    ctx.progress(`(b) one source's stream: ${streams.loaded} events`);

    const plainDb = await ingestDatabase('aggregate');
    const snapshotDb = await ingestDatabase('aggregate_snapshots');
    databases.push(plainDb, snapshotDb);
    ctx.progress(`(a) one aggregate + outbox, at most ${budgetSeconds} s each without and with snapshots`);
    const feed = await oneAggregate({ plain: plainDb, snapshotted: snapshotDb }, count, budgetSeconds, ctx.progress);
    recordIngest(ctx, 'a_one_aggregate', feed.plain, table);
    recordIngest(ctx, 'a_one_aggregate_snapshots', feed.snapshotted, table);
    recordLoad(ctx, 'a_one_aggregate_load_all_ms', feed.loadMs, table);
    recordLoad(ctx, 'a_one_aggregate_load_from_snapshot_ms', feed.loadFromSnapshotMs, table);
    ctx.record('a_close_books_ms', feed.closeBooksMs, 'ms');
    recordLoad(ctx, 'a_one_aggregate_load_after_close_books_ms', feed.loadAfterClosingMs, table);
    ctx.progress(`(a) closing the books archived ${feed.archived} events; stream length warnings: ${feed.lengthCrossings}`);
    for (const warning of feed.lengthWarnings) ctx.progress(`  ${warning}`);
  } finally {
    for (const db of databases) await db.drop().catch(() => undefined);
  }
};
export default suite;
