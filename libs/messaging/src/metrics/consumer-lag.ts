import type { BrokerAdmin, LogRange, TopicPartitionOffset } from '../kafka/broker';

/** A consumer group and the topics it reads (its events' topics and its redrive topic). */
export interface LagGroup {
  readonly groupId: string;
  readonly topics: readonly string[];
}

export interface PartitionLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** Messages from the committed offset to the log end. */
  readonly messages: number;
  /** Age of the oldest of them (0 when there is none); undefined when its timestamp could not be read. */
  readonly seconds?: number;
}

/**
 * Where a group stands in one partition: the next offset it would read (the committed offset;
 * the log start when nothing was committed, as a new group starts from the beginning, or when
 * retention removed what it had not read) and the messages from there to the log end.
 */
export function partitionLag(range: Pick<LogRange, 'start' | 'end'>, committed: string | undefined): { readonly position: string; readonly messages: number } {
  const start = BigInt(range.start);
  const end = BigInt(range.end);
  const commit = committed === undefined || BigInt(committed) < 0n ? start : BigInt(committed);
  const position = commit < start ? start : commit;
  return { position: position.toString(), messages: position >= end ? 0 : Number(end - position) };
}

/** Age in seconds of the oldest unread message: 0 without lag, unknown without its timestamp. */
export function lagSeconds(messages: number, oldestTimestampMs: number | undefined, nowMs: number): number | undefined {
  if (messages === 0) return 0;
  if (oldestTimestampMs === undefined) return undefined;
  return Math.max(0, nowMs - oldestTimestampMs) / 1000;
}

/** Splits positions into rounds holding each partition at most once. */
export function byPartitionOnce<P extends { topic: string; partition: number }>(positions: readonly P[]): P[][] {
  const rounds: P[][] = [];
  const seen: Set<string>[] = [];
  for (const position of positions) {
    const id = `${position.topic}:${position.partition}`;
    let i = seen.findIndex((ids) => !ids.has(id));
    if (i < 0) {
      i = rounds.push([]) - 1;
      seen.push(new Set());
    }
    rounds[i].push(position);
    seen[i].add(id);
  }
  return rounds;
}

/**
 * Reads the lag of consumer groups from the broker: committed offsets (one OffsetFetch per
 * group) against log ranges (one ListOffsets per topic), and, only for partitions with lag, the
 * timestamp of the message at the committed offset (one Fetch per partition leader, without
 * waiting). A timestamp is kept while the committed offset stays where it is, so a group that
 * is stuck costs no fetch after the first.
 */
export class ConsumerLagReader {
  private timestamps = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async read(admin: BrokerAdmin, groups: readonly LagGroup[]): Promise<PartitionLag[]> {
    const topics = [...new Set(groups.flatMap((g) => g.topics))];
    const [ranges, commits] = await Promise.all([
      Promise.all(topics.map((t) => admin.logRanges(t))).then((r) => r.flat()),
      Promise.all(groups.map(async (g) => ({ group: g.groupId, offsets: await admin.committedOffsets(g.groupId, g.topics) }))),
    ]);
    const rows: { group: string; topic: string; partition: number; position: string; messages: number }[] = [];
    for (const group of groups) {
      const offsets = commits.find((c) => c.group === group.groupId)?.offsets ?? [];
      for (const range of ranges.filter((r) => group.topics.includes(r.topic))) {
        const committed = offsets.find((o) => o.topic === range.topic && o.partition === range.partition)?.offset;
        rows.push({ group: group.groupId, topic: range.topic, partition: range.partition, ...partitionLag(range, committed) });
      }
    }
    const key = (p: { topic: string; partition: number; offset: string }) => `${p.topic}:${p.partition}:${p.offset}`;
    const wanted = new Map<string, TopicPartitionOffset>();
    for (const row of rows) {
      const position = { topic: row.topic, partition: row.partition, offset: row.position };
      if (row.messages > 0) wanted.set(key(position), position);
    }
    const missing = [...wanted].filter(([k]) => !this.timestamps.has(k)).map(([, p]) => p);
    // One request asks for a partition once: groups at different offsets of one partition take turns.
    await Promise.all(
      byPartitionOnce(missing).map(async (round) => {
        for (const found of await admin.messageTimestamps(round).catch(() => [])) {
          // Keyed by the offset asked for: the message found may sit after it (compaction, markers).
          const asked = round.find((m) => m.topic === found.topic && m.partition === found.partition);
          if (asked) this.timestamps.set(key(asked), found.timestamp);
        }
      }),
    );
    // Only what this read needed stays: the cache is as large as the partitions with lag.
    this.timestamps = new Map([...this.timestamps].filter(([k]) => wanted.has(k)));
    const now = this.now();
    return rows.map(({ group, topic, partition, position, messages }) => {
      const seconds = lagSeconds(messages, this.timestamps.get(key({ topic, partition, offset: position })), now);
      return { group, topic, partition, messages, ...(seconds === undefined ? {} : { seconds }) };
    });
  }
}
