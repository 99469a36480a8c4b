import { Kafka, logLevel } from 'kafkajs';
import { sleep } from './eventually';
import { TopicReader, type ReadMessage } from './topic-reader';

/** A use case's dead-letter topic ends so (libs/messaging naming: `<namespace>.<service>.<use-case>.dlq`). */
const DEAD_LETTER_SUFFIX = '.dlq';

/**
 * Every dead-letter topic of a namespace and how many messages it holds (end offsets minus
 * start offsets), read with plain kafkajs: `{ '<namespace>.notifications.endpoint-audit.dlq': 0, ... }`.
 * The services create these topics at start, one per use case, so an empty topic is listed with 0.
 */
export async function deadLetterCounts(brokers: readonly string[], namespace: string): Promise<Record<string, number>> {
  const admin = new Kafka({ clientId: 'test-dead-letters', brokers: [...brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`) && t.endsWith(DEAD_LETTER_SUFFIX)).sort();
    const counts: Record<string, number> = {};
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      counts[topic] = offsets.reduce((sum, p) => sum + (Number(p.high) - Number(p.low)), 0);
    }
    return counts;
  } finally {
    await admin.disconnect();
  }
}

/** The dead-letter topic of a consumer group (`<service>.<use-case>`) in a namespace. */
export const deadLetterTopic = (namespace: string, group: string): string => `${namespace}.${group}${DEAD_LETTER_SUFFIX}`;

/**
 * Throws unless every dead-letter topic of the namespace is empty, and unless the dead-letter
 * topics of `groups` (`<service>.<use-case>`, e.g. `notifications.endpoint-audit`) exist: an
 * assertion that cannot pass because it looked in the wrong place. The error names each
 * non-empty topic with its count and the reasons of its first dead letters (`dlq_*` headers).
 *
 * Dead letters of windows travel through the outbox: check once what the test waited for
 * has reached Kafka, so that the relay has sent what was written before it.
 */
export async function expectNoDeadLetters(brokers: readonly string[], namespace: string, groups: readonly string[]): Promise<void> {
  const counts = await deadLetterCounts(brokers, namespace);
  const missing = groups.map((g) => deadLetterTopic(namespace, g)).filter((t) => !(t in counts));
  const nonEmpty = Object.entries(counts).filter(([, count]) => count > 0);
  if (missing.length === 0 && nonEmpty.length === 0) return;
  const lines: string[] = [];
  if (missing.length > 0) lines.push(`dead-letter topics missing (wrong namespace or group?): ${missing.join(', ')}; found: ${Object.keys(counts).join(', ') || 'none'}`);
  for (const [topic, count] of nonEmpty) {
    const samples = await readDeadLetters(brokers, topic, Math.min(count, 5));
    lines.push(`${topic}: ${count} dead letter${count === 1 ? '' : 's'}`, ...samples.map(describeDeadLetter));
  }
  throw new Error(`expected no dead letters:\n  ${lines.join('\n  ')}`);
}

/** The first `count` messages of a dead-letter topic (waits up to 15 s for them). */
export async function readDeadLetters(brokers: readonly string[], topic: string, count: number): Promise<ReadMessage[]> {
  const reader = await new TopicReader(brokers, [topic]).start();
  try {
    for (const deadline = Date.now() + 15_000; reader.messages.length < count && Date.now() < deadline; ) await sleep(100);
    return reader.messages.slice(0, count);
  } finally {
    await reader.stop();
  }
}

function describeDeadLetter(message: ReadMessage): string {
  const h = message.headers;
  return (
    `    event ${h['ce_id'] ?? '?'} from ${h['dlq_original_topic'] ?? '?'}[${h['dlq_original_partition'] ?? '?'}]@${h['dlq_original_offset'] ?? '?'}: ` +
    `${h['dlq_reason'] ?? '?'} after ${h['dlq_attempts'] ?? '?'} attempt(s): ${h['dlq_error_name'] ?? ''} ${h['dlq_error_message'] ?? ''}`
  );
}
