import { Injectable } from '@nestjs/common';
import { CE, DLQ, type BrokerAdmin, type IncomingMessage } from '@platform/messaging';
import { KafkaAccess } from '../kafka/kafka-access';
import { ConsoleSettings } from '../settings';
import { useCasesOf, type Topology } from '../topology/topology';

/** How far back each partition is searched: the trail of a recent request, not an archive query. */
export const SEARCH_DEPTH_PER_PARTITION = 5_000;

export type StepStatus = 'handled' | 'waiting' | 'dead-lettered';

export interface TrailEvent {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly type?: string;
  readonly eventId?: string;
  readonly time?: string;
  readonly causationId?: string;
  /** The service that published it through its outbox (a message in Kafka has left the outbox). */
  readonly publishedBy?: string;
  /** Each use case that consumes the topic, and where its group stands with this message. */
  readonly consumers: readonly { readonly service: string; readonly useCase: string; readonly status: StepStatus }[];
}

export interface Trail {
  readonly correlationId: string;
  readonly events: readonly TrailEvent[];
  readonly deadLetters: readonly { readonly topic: string; readonly offset: string; readonly eventId?: string; readonly reason?: string; readonly error?: string }[];
  readonly scanned: { readonly topics: number; readonly depthPerPartition: number };
}

async function recentMessages(admin: BrokerAdmin, topic: string): Promise<IncomingMessage[]> {
  const ranges = await admin.logRanges(topic);
  const reads = ranges.map((r) => {
    const from = BigInt(r.end) - BigInt(SEARCH_DEPTH_PER_PARTITION);
    return admin.readMessages({ topic, partition: r.partition, from: (from > BigInt(r.start) ? from : BigInt(r.start)).toString(), to: r.end });
  });
  return (await Promise.all(reads)).flat();
}

/**
 * A request's trail through the platform from its correlation id (the `X-Correlation-Id` every
 * event it causes carries as `ce_correlationid`): each event it caused, in which topic, published
 * by whom, and for each use case of that topic whether its group has committed past it, or the
 * event sits in that use case's dead-letter topic. The inboxes themselves are in the services'
 * databases, which the console never reads: a group committed past an event has handled it.
 */
export function trailOf(
  topology: Topology,
  correlationId: string,
  found: readonly IncomingMessage[],
  committed: (group: string, topic: string, partition: number) => bigint,
): Pick<Trail, 'events' | 'deadLetters'> {
  const useCases = useCasesOf(topology);
  const ofId = found.filter((m) => m.headers[CE.correlationId] === correlationId);
  const deadLetterTopics = new Set(useCases.map((u) => u.deadLetterTopic));
  const letters = ofId.filter((m) => deadLetterTopics.has(m.topic));
  const events = ofId
    .filter((m) => topology.topics.includes(m.topic))
    .sort((a, b) => (a.headers[CE.time] ?? '').localeCompare(b.headers[CE.time] ?? '') || a.topic.localeCompare(b.topic))
    .map((m) => ({
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      type: m.headers[CE.type],
      eventId: m.headers[CE.id],
      time: m.headers[CE.time],
      causationId: m.headers[CE.causationId],
      publishedBy: topology.services.find((s) => s.publishes.some((p) => p.topic === m.topic))?.name,
      consumers: useCases
        .filter((u) => u.topics.includes(m.topic))
        .map((u) => {
          const deadLettered = letters.some((l) => l.topic === u.deadLetterTopic && l.headers[CE.id] === m.headers[CE.id]);
          const status: StepStatus = deadLettered ? 'dead-lettered' : committed(u.group, m.topic, m.partition) > BigInt(m.offset) ? 'handled' : 'waiting';
          return { service: u.service, useCase: u.name, status };
        }),
    }));
  return {
    events,
    deadLetters: letters.map((l) => ({ topic: l.topic, offset: l.offset, eventId: l.headers[CE.id], reason: l.headers[DLQ.reason], error: l.headers[DLQ.errorMessage] })),
  };
}

@Injectable()
export class CorrelationSearch {
  constructor(
    private readonly kafka: KafkaAccess,
    private readonly settings: ConsoleSettings,
  ) {}

  search(correlationId: string): Promise<Trail> {
    const { topology } = this.settings;
    const useCases = useCasesOf(topology);
    return this.kafka.withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      const topics = [...topology.topics, ...useCases.map((u) => u.deadLetterTopic)].filter((t) => existing.has(t));
      const [found, commits] = await Promise.all([
        Promise.all(topics.map((t) => recentMessages(admin, t))).then((r) => r.flat()),
        Promise.all(useCases.map(async (u) => ({ group: u.group, offsets: await admin.committedOffsets(u.group, u.topics.filter((t) => existing.has(t))) }))),
      ]);
      const committed = (group: string, topic: string, partition: number) =>
        BigInt(commits.find((c) => c.group === group)?.offsets.find((o) => o.topic === topic && o.partition === partition)?.offset ?? '-1');
      return { correlationId, ...trailOf(topology, correlationId, found, committed), scanned: { topics: topics.length, depthPerPartition: SEARCH_DEPTH_PER_PARTITION } };
    });
  }
}
