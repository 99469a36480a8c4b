import { Kafka, logLevel } from 'kafkajs';
import { eventually } from './eventually';

/**
 * How many messages of `topics` the consumer group has not committed past yet (end offsets
 * minus committed offsets; a partition without a commit counts from its start offset), read
 * with plain kafkajs.
 */
export async function consumerLag(brokers: readonly string[], groupId: string, topics: readonly string[]): Promise<number> {
  const admin = new Kafka({ clientId: 'test-consumer-lag', brokers: [...brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    let lag = 0;
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const commits = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const end of ends) {
        const commit = Number(commits.find((c) => c.partition === end.partition)?.offset ?? -1);
        lag += Number(end.high) - (commit >= 0 ? commit : Number(end.low));
      }
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until each group has committed every message of `topics`: everything was handled (or
 * dead-lettered: a use case commits past an event only then), so what a test checks next, such
 * as empty dead-letter topics, is final for those messages.
 */
export async function waitForNoLag(brokers: readonly string[], groupIds: readonly string[], topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  await eventually(
    async () => {
      const lags = await Promise.all(groupIds.map(async (g) => [g, await consumerLag(brokers, g, topics)] as const));
      const behind = lags.filter(([, lag]) => lag > 0);
      if (behind.length > 0) throw new Error(`consumer groups behind on ${topics.join(', ')}: ${behind.map(([g, lag]) => `${g} by ${lag}`).join(', ')}`);
    },
    { timeoutMs, intervalMs: 250 },
  );
}
