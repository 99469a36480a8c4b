import type { EventClass } from '@platform/contracts';
import type { BrokerAdmin, TopicSpec } from './broker';
import type { KafkaNaming } from './naming';

export class TopicMismatchError extends Error {
  readonly retriable = false;
  constructor(readonly topic: string, readonly declared: number, readonly actual: number) {
    super(
      `Topic ${topic} has ${actual} partitions but its contract declares ${declared}. ` +
        'Changing the partition count of a keyed topic breaks per-key order; publish a new event version instead.',
    );
    this.name = 'TopicMismatchError';
  }
}

/** How long a use case's dead-letter and redrive topics keep their messages. */
export const USE_CASE_TOPIC_RETENTION_MS = 14 * 24 * 60 * 60 * 1000;

/** A use case's own topics (dead letters, redrive): one partition keeps their total order. */
export function useCaseTopicSpecs(naming: KafkaNaming, service: string, useCase: string): TopicSpec[] {
  const config = { 'retention.ms': String(USE_CASE_TOPIC_RETENTION_MS), 'cleanup.policy': 'delete' };
  return [
    { topic: naming.deadLetterTopic(service, useCase), partitions: 1, config },
    { topic: naming.redriveTopic(service, useCase), partitions: 1, config },
  ];
}

export function topicSpecFor(event: EventClass, naming: KafkaNaming): TopicSpec {
  return {
    topic: naming.topic(event),
    partitions: event.contract.partitions,
    config: { 'retention.ms': String(event.contract.retentionMs), 'cleanup.policy': 'delete' },
  };
}

/**
 * Creates the topics of the given contracts that do not exist yet and refuses to go on when
 * an existing one has a different partition count. Auto-creation is off on our brokers, so
 * this (or the generated Strimzi KafkaTopics) is the only way topics come to be.
 */
export async function ensureTopics(admin: BrokerAdmin, naming: KafkaNaming, events: readonly EventClass[], extra: readonly TopicSpec[] = []): Promise<void> {
  const specs = [...new Map([...events.map((e) => topicSpecFor(e, naming)), ...extra].map((spec) => [spec.topic, spec])).values()];
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  try {
    await admin.createTopics(missing);
  } catch (error) {
    // Several services start together and create the topics they share: losing that race is
    // fine as long as the topics exist afterwards, which the check below establishes.
    const nowExisting = new Set(await admin.listTopics());
    if (!missing.every((s) => nowExisting.has(s.topic))) throw error;
  }
  const described = await describeWhenLeadersKnown(admin, specs.map((s) => s.topic));
  for (const spec of specs) {
    const actual = described.find((d) => d.topic === spec.topic);
    if (actual && actual.partitions !== spec.partitions) throw new TopicMismatchError(spec.topic, spec.partitions, actual.partitions);
  }
}

/** Right after creation the metadata of a new topic can lag behind for a moment. */
async function describeWhenLeadersKnown(admin: BrokerAdmin, topics: readonly string[]) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.describeTopics(topics);
    } catch (error) {
      if (attempt >= 20 || (error as { retriable?: boolean }).retriable === false) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
