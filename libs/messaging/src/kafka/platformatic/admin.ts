import { Admin, ListOffsetTimestamps, type Consumer, type fetchV17 } from '@platformatic/kafka';
import type { BrokerAdmin, IncomingMessage, LogRange, MessageRange, MessageTimestamp, TopicPartitionOffset, TopicSpec } from '../broker';
import { fetchedPartition } from './records';

/** Bytes asked for per partition when reading a message's timestamp; Kafka still returns the whole first record batch. */
const TIMESTAMP_FETCH_BYTES = 16 * 1024;

/** Bytes asked for per fetch when reading a range of messages. */
const RANGE_FETCH_BYTES = 1024 * 1024;

/**
 * The admin functions on @platformatic/kafka: topics and groups by its Admin client; offsets and
 * group-less reads by a Consumer that never joins its group (Fetch and ListOffsets are its calls).
 */
export class PlatformaticAdmin implements BrokerAdmin {
  constructor(
    private readonly admin: Admin,
    private readonly reader: Consumer,
  ) {}

  async createTopics(topics: readonly TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    // A request carries one set of configs: one request per distinct set.
    const byConfig = new Map<string, TopicSpec[]>();
    for (const t of topics) {
      const key = JSON.stringify(Object.entries(t.config).sort());
      byConfig.set(key, [...(byConfig.get(key) ?? []), t]);
    }
    await Promise.all(
      [...byConfig.values()].map((specs) =>
        this.admin.createTopics({
          topics: specs.map((t) => ({ topic: t.topic, partitions: t.partitions })),
          configs: Object.entries(specs[0].config).map(([name, value]) => ({ name, value })),
        }),
      ),
    );
    await this.waitForLeaders(topics.map((t) => t.topic));
  }

  /**
   * As kafkajs' waitForLeaders: a created topic is used at once, so its partitions need leaders
   * first. A leader in the metadata is not enough: for a few milliseconds after, the broker still
   * answered a produce with NOT_LEADER_OR_FOLLOWER (a producer that resends without idempotence
   * then wrote the other partitions twice), so every partition's leader must also answer a
   * ListOffsets, which only the leader does.
   */
  private async waitForLeaders(topics: readonly string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const metadata = await this.admin.metadata({ topics: [...topics], forceUpdate: true }).catch(() => undefined);
      const led = metadata && topics.every((t) => metadata.topics.get(t)?.partitions.every((p) => p.leader >= 0));
      const ready =
        led &&
        (await this.reader.listOffsets({ topics: [...topics], timestamp: ListOffsetTimestamps.LATEST }).then(
          () => true,
          () => false,
        ));
      if (ready || attempt >= 50) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async describeTopics(topics: readonly string[]) {
    const metadata = await this.admin.metadata({ topics: [...topics], forceUpdate: true });
    return topics.map((topic) => ({ topic, partitions: metadata.topics.get(topic)?.partitionsCount ?? 0 }));
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length > 0) await this.admin.deleteTopics({ topics: [...topics] });
  }

  async committedOffsets(groupId: string, topics: readonly string[]): Promise<TopicPartitionOffset[]> {
    const metadata = await this.admin.metadata({ topics: [...topics] });
    const [group] = await this.admin.listConsumerGroupOffsets({
      groups: [{ groupId, topics: topics.map((name) => ({ name, partitionIndexes: [...Array(metadata.topics.get(name)?.partitionsCount ?? 0).keys()] })) }],
    });
    return (group?.topics ?? []).flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset.toString() })));
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    const ends = await this.reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST });
    return (ends.get(topic) ?? []).map((offset, partition) => ({ topic, partition, offset: offset.toString() }));
  }

  async logRanges(topic: string): Promise<LogRange[]> {
    const [starts, ends] = await Promise.all([
      this.reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST }),
      this.reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST }),
    ]);
    return (ends.get(topic) ?? []).map((end, partition) => ({ topic, partition, start: (starts.get(topic)?.[partition] ?? end).toString(), end: end.toString() }));
  }

  async messageTimestamps(positions: readonly TopicPartitionOffset[]): Promise<MessageTimestamp[]> {
    if (positions.length === 0) return [];
    const messages = await this.fetchFrom(positions, TIMESTAMP_FETCH_BYTES);
    const found: MessageTimestamp[] = [];
    for (const { topic, partition } of positions) {
      const first = messages.find((m) => m.topic === topic && m.partition === partition);
      if (first) found.push({ topic, partition, offset: first.offset, timestamp: first.timestamp });
    }
    return found;
  }

  async readMessages({ topic, partition, from, to }: MessageRange): Promise<IncomingMessage[]> {
    const messages: IncomingMessage[] = [];
    let next = BigInt(from);
    const end = BigInt(to);
    while (next < end) {
      const fetched = (await this.fetchFrom([{ topic, partition, offset: next.toString() }], RANGE_FETCH_BYTES)).filter((m) => BigInt(m.offset) < end);
      // Nothing more to read (transaction markers only, or the leader did not answer): stop here.
      if (fetched.length === 0) break;
      messages.push(...fetched);
      next = BigInt(fetched[fetched.length - 1].offset) + 1n;
    }
    return messages;
  }

  async describeGroup(groupId: string) {
    const groups = await this.admin.describeGroups({ groups: [groupId] });
    const group = groups.get(groupId);
    if (!group) return { state: 'Dead', members: [] };
    return {
      state: group.state,
      members: [...group.members.values()].map((m) => ({
        memberId: m.id,
        clientId: m.clientId,
        assigned: [...(m.assignments?.values() ?? [])].flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition }))),
      })),
    };
  }

  async disconnect(): Promise<void> {
    await Promise.all([this.admin.close(), this.reader.close()]);
  }

  /**
   * The messages at or after each offset, by one Fetch (no waiting) per partition leader,
   * without a consumer group. A partition whose leader could not be asked is left out.
   */
  private async fetchFrom(positions: readonly TopicPartitionOffset[], bytesPerPartition: number): Promise<IncomingMessage[]> {
    const topics = [...new Set(positions.map((p) => p.topic))];
    const metadata = await this.reader.metadata({ topics });
    const byLeader = new Map<number, TopicPartitionOffset[]>();
    for (const p of positions) {
      const leader = metadata.topics.get(p.topic)?.partitions[p.partition]?.leader;
      if (leader !== undefined && leader >= 0) byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    const found: IncomingMessage[] = [];
    await Promise.all(
      [...byLeader].map(async ([node, wanted]) => {
        const request = new Map<string, fetchV17.FetchRequestTopic>();
        for (const w of wanted) {
          const topicId = metadata.topics.get(w.topic)?.id as string;
          const topic = request.get(topicId) ?? { topicId, partitions: [] };
          topic.partitions.push({ partition: w.partition, fetchOffset: BigInt(w.offset), partitionMaxBytes: bytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
          request.set(topicId, topic);
        }
        try {
          const response = await this.reader.fetch({ node, topics: [...request.values()], maxWaitTime: 0, maxBytes: wanted.length * bytesPerPartition });
          for (const { topicId, partitions } of response.responses) {
            const topic = [...metadata.topics].find(([, t]) => t.id === topicId)?.[0];
            for (const fetched of partitions) {
              const asked = wanted.find((w) => w.topic === topic && w.partition === fetched.partitionIndex);
              if (asked) found.push(...fetchedPartition(asked.topic, fetched, BigInt(asked.offset)).messages);
            }
          }
        } catch {
          // A moved leader, or an offset retention just removed: these partitions stay unknown this time.
          this.reader.clearMetadata();
        }
      }),
    );
    return found;
  }
}
