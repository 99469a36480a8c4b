import { AssignerProtocol, Kafka, KafkaMessage, logLevel, Partitioners, type Admin, type Consumer, type IHeaders, type LogEntry, type SASLOptions } from 'kafkajs';
import type { LogFields, Logger } from '@platform/core';
import type {
  Broker,
  BrokerAdmin,
  GroupConsumer,
  IncomingMessage,
  LogRange,
  MessageProducer,
  MessageRange,
  MessageTimestamp,
  OutgoingMessage,
  ProducerOptions,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
} from './broker';
import { GroupGeneration } from './group-generation';
import { stopKafkaJsIdleTimers } from './kafkajs-idle-timer';

stopKafkaJsIdleTimers();

/** TLS settings: the CA certificates (PEM) the brokers' certificates must chain to; unset, Node's own CAs. */
export interface KafkaTls {
  readonly ca?: string;
}

export interface KafkaJsBrokerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  /** Fetch long-poll; also bounds how long stop() waits for an idle fetch. */
  readonly maxWaitTimeInMs?: number;
  /**
   * How long the group waits for a member that stopped heart-beating (a crashed process)
   * before giving its partitions to others. kafkajs has no static membership, so this bounds
   * the stall after a kill -9. The broker's group.min.session.timeout.ms (6 s) is the floor.
   */
  readonly sessionTimeoutMs?: number;
  /** SASL credentials, when the cluster authenticates clients (e.g. Strimzi SCRAM users). */
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string };
  /** TLS to the brokers, when set. */
  readonly tls?: KafkaTls;
  /** Fetch size per partition and per response: what each consumer group may buffer. */
  readonly maxBytesPerPartition?: number;
  readonly maxBytes?: number;
  /**
   * What all the groups of the process may hold fetched and not yet handled, shared equally
   * (FetchBudget; default 8 MiB). The platformatic adapter, whose fetch loop is ours, keeps to
   * it; kafkajs fetches on its own loop and is bounded by the two sizes above only.
   */
  readonly maxBytesInFlight?: number;
}

function headerValue(value: IHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerValue(value);
    if (text !== undefined) headers[name] = text;
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString() : null,
    value: message.value,
    headers,
    timestamp: Number(message.timestamp),
  };
}

function groupByTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list }));
}

/** What this adapter uses of kafkajs' private cluster object (kafkajs 2.2.x, unmaintained, so it stays put). */
interface KafkaJsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string }): Promise<{
    fetch(request: {
      replicaId: number;
      isolationLevel: number;
      maxWaitTime: number;
      minBytes: number;
      maxBytes: number;
      topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
    }): Promise<{ responses: { topicName: string; partitions: { partition: number; messages: (KafkaMessage & { isControlRecord?: boolean })[] }[] }[] }>;
  }>;
}

/**
 * A cluster connection of kafkajs' own, for reading one message at an offset without joining a
 * consumer group: kafkajs has no public call for that, but every client it makes is built on
 * this private factory. Undefined if a kafkajs version no longer has it.
 */
function privateCluster(kafka: Kafka): KafkaJsCluster | undefined {
  const factory = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  const create = factory && (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof create !== 'function') return undefined;
  // Read committed (1), as the consumers read.
  return create({ allowAutoTopicCreation: false, isolationLevel: 1 }) as KafkaJsCluster;
}

/**
 * A created topic is used at once, so its partitions must take writes when createTopics returns.
 * Under load in CI, for a while after the creation the metadata did not know the topic yet
 * (UNKNOWN_TOPIC_OR_PARTITION), and then a leader in the metadata still answered a produce (and a
 * ListOffsets) with NOT_LEADER_OR_FOLLOWER. Only a partition's leader answers ListOffsets, so ask
 * every partition, on fresh metadata, until all answer (kafkajs' admin retries neither refusal
 * here), as the platformatic adapter does. After 100 tries (about 10 s) the topics are used as
 * they are, and a refused write is retried where it is made.
 */
async function untilLeadersAnswer(admin: Admin, topics: readonly string[]): Promise<void> {
  for (let attempt = 1; attempt <= 100; attempt++) {
    try {
      await admin.fetchTopicMetadata({ topics: [...topics] });
      for (const topic of topics) await admin.fetchTopicOffsets(topic);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Bytes asked for per partition when reading a message's timestamp; Kafka still returns the whole first record batch. */
const TIMESTAMP_FETCH_BYTES = 16 * 1024;

/** Bytes asked for per fetch when reading a range of messages. */
const RANGE_FETCH_BYTES = 1024 * 1024;

/**
 * The messages at or after each offset, by one Fetch (no waiting) per partition leader,
 * without a consumer group. A partition whose leader could not be asked is left out.
 */
async function fetchFrom(cluster: KafkaJsCluster, positions: readonly TopicPartitionOffset[], bytesPerPartition: number): Promise<IncomingMessage[]> {
  const topics = [...new Set(positions.map((p) => p.topic))];
  await cluster.addMultipleTargetTopics(topics);
  const byLeader = new Map<string, TopicPartitionOffset[]>();
  for (const topic of topics) {
    const ofTopic = positions.filter((p) => p.topic === topic);
    const leaders = cluster.findLeaderForPartitions(
      topic,
      ofTopic.map((p) => p.partition),
    );
    for (const [nodeId, partitions] of Object.entries(leaders)) {
      byLeader.set(nodeId, [...(byLeader.get(nodeId) ?? []), ...ofTopic.filter((p) => partitions.includes(p.partition))]);
    }
  }
  const found: IncomingMessage[] = [];
  await Promise.all(
    [...byLeader].map(async ([nodeId, wanted]) => {
      try {
        const broker = await cluster.findBroker({ nodeId });
        const { responses } = await broker.fetch({
          replicaId: -1,
          isolationLevel: 1,
          maxWaitTime: 0,
          minBytes: 1,
          maxBytes: wanted.length * bytesPerPartition,
          topics: [...new Set(wanted.map((w) => w.topic))].map((topic) => ({
            topic,
            partitions: wanted.filter((w) => w.topic === topic).map((w) => ({ partition: w.partition, fetchOffset: w.offset, maxBytes: bytesPerPartition })),
          })),
        });
        for (const { topicName, partitions } of responses) {
          for (const { partition, messages } of partitions) {
            const offset = BigInt(wanted.find((w) => w.topic === topicName && w.partition === partition)?.offset ?? '-1');
            // A fetch returns whole record batches: skip the batch's messages before the offset.
            for (const m of messages) if (!m.isControlRecord && BigInt(m.offset) >= offset) found.push(toIncoming(topicName, partition, m));
          }
        }
      } catch {
        // A moved leader, or an offset retention just removed: these partitions stay unknown this time.
        await cluster.refreshMetadata().catch(() => undefined);
      }
    }),
  );
  return found;
}

/** The timestamp of the first message at or after each offset. */
async function fetchTimestamps(cluster: KafkaJsCluster, positions: readonly TopicPartitionOffset[]): Promise<MessageTimestamp[]> {
  const messages = await fetchFrom(cluster, positions, TIMESTAMP_FETCH_BYTES);
  const found: MessageTimestamp[] = [];
  for (const { topic, partition } of positions) {
    const first = messages.find((m) => m.topic === topic && m.partition === partition);
    if (first) found.push({ topic, partition, offset: first.offset, timestamp: first.timestamp });
  }
  return found;
}

/** The messages of one partition from `from` (inclusive) to `to` (exclusive), fetch after fetch. */
async function fetchRange(cluster: KafkaJsCluster, { topic, partition, from, to }: MessageRange): Promise<IncomingMessage[]> {
  const messages: IncomingMessage[] = [];
  let next = BigInt(from);
  const end = BigInt(to);
  while (next < end) {
    const fetched = (await fetchFrom(cluster, [{ topic, partition, offset: next.toString() }], RANGE_FETCH_BYTES)).filter((m) => BigInt(m.offset) < end);
    // Nothing more to read (transaction markers only, or the leader did not answer): stop here.
    if (fetched.length === 0) break;
    messages.push(...fetched);
    next = BigInt(fetched[fetched.length - 1].offset) + 1n;
  }
  return messages;
}

/**
 * A kafkajs log entry as one of our lines, or undefined when it is not worth one. kafkajs logs
 * every retried request as an error, routine while a broker restarts: warn at most. Its
 * `correlationId` numbers protocol requests: renamed, so that `correlationId` on a line always
 * names a conversation; its `timestamp` repeats the line's time.
 */
export function kafkajsLogLine(entry: LogEntry): { readonly level: 'warn' | 'debug'; readonly message: string; readonly fields: LogFields } | undefined {
  const { message, timestamp: _timestamp, correlationId: kafkaCorrelationId, ...fields } = entry.log;
  if (message.startsWith('Limiting retries for the idempotent producer')) return undefined;
  return {
    level: entry.level <= logLevel.WARN ? 'warn' : 'debug',
    message: `kafkajs ${entry.namespace}: ${message}`,
    fields: kafkaCorrelationId === undefined ? fields : { ...fields, kafkaCorrelationId },
  };
}

/** kafkajs' retry of requests; a consumer's own retry option replaces it, so consumers repeat it. */
const CLIENT_RETRY = { initialRetryTime: 200, retries: 8 };

/** kafkajs behind the Broker port. */
export class KafkaJsBroker implements Broker {
  private readonly kafka: Kafka;

  constructor(private readonly options: KafkaJsBrokerOptions) {
    const { logger } = options;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logLevel: logLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        const line = kafkajsLogLine(entry);
        if (line) logger[line.level](line.message, line.fields);
      },
      retry: CLIENT_RETRY,
      ...(options.sasl ? { sasl: { ...options.sasl } as SASLOptions } : {}),
      ...(options.tls ? { ssl: options.tls.ca ? { ca: [options.tls.ca] } : true } : {}),
    });
  }

  async producer(options: ProducerOptions): Promise<MessageProducer> {
    const producer = this.kafka.producer({
      idempotent: options.idempotent,
      // One request in flight per broker keeps per-partition order even across retries.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Bounded, so a send fails while Kafka is away and the caller (the relay) decides what
      // next: it starts a new producer session and resends, and consumers de-duplicate.
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    await producer.connect();
    return {
      async send(messages: readonly OutgoingMessage[]) {
        if (messages.length === 0) return;
        const byTopic = new Map<string, { key: string; value: string | Buffer; headers: Record<string, string> }[]>();
        for (const m of messages) {
          const list = byTopic.get(m.topic) ?? [];
          list.push({ key: m.key, value: m.value, headers: { ...m.headers } });
          byTopic.set(m.topic, list);
        }
        await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) });
      },
      disconnect: () => producer.disconnect(),
    };
  }

  async consumer(options: { groupId: string; clientId?: string }): Promise<GroupConsumer> {
    let stopped = false;
    const consumer: Consumer = this.kafka.consumer({
      groupId: options.groupId,
      // kafkajs restarts a crashed consumer on a timer it sets after its own disconnect, so a
      // stop() that lands during that disconnect clears no timer yet and the consumer starts
      // again after it was stopped (a member nobody stops; in tests, imports after teardown).
      retry: { ...CLIENT_RETRY, restartOnFailure: async () => !stopped },
      allowAutoTopicCreation: false,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      rebalanceTimeout: 30_000,
      heartbeatInterval: Math.max(500, Math.floor((this.options.sessionTimeoutMs ?? 10_000) / 4)),
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 250,
      // Smaller than kafkajs' defaults (1 MiB / 10 MiB): with a group per use case, fetch
      // buffers are paid once per group, and our handlers are slower than the network anyway.
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 256 * 1024,
      maxBytes: this.options.maxBytes ?? 4 * 1024 * 1024,
    });
    await consumer.connect();
    const generation = new GroupGeneration();
    consumer.on(consumer.events.GROUP_JOIN, () => generation.advance());
    consumer.on(consumer.events.REBALANCING, () => generation.advance());
    return {
      subscribe: (topics, { fromBeginning }) => consumer.subscribe({ topics: [...topics], fromBeginning }),
      run: ({ partitionsConcurrently, onBatch }) =>
        consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: partitionsConcurrently,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            const fetchedIn = generation.begin();
            const stale = () => isStale() || !fetchedIn.isCurrent();
            // No closure here names `batch`: one that did would share its scope with `stale`,
            // and each message still buffered would keep kafkajs' whole decoded batch alive.
            const { topic, partition } = batch;
            const taken = await onBatch({
              topic,
              partition,
              messages: batch.messages.map((m) => toIncoming(topic, partition, m)),
              highWatermark: batch.highWatermark,
              heartbeat,
              isRunning,
              isStale: stale,
            });
            // The fetch position moves past what was taken, in the generation that fetched it
            // only (GroupGeneration says why); commits stay with the caller.
            if (taken !== undefined && !stale()) resolveOffset(taken);
          },
        }),
      commit: (offsets: readonly TopicPartitionOffset[]) => consumer.commitOffsets(offsets.map((o) => ({ ...o }))),
      pause: (partitions) => consumer.pause(groupByTopic(partitions)),
      resume: (partitions) => consumer.resume(groupByTopic(partitions)),
      onAssignment: (listener) => {
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          const assignment = event.payload.memberAssignment as Record<string, number[]>;
          listener(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition }))));
        });
      },
      onRebalancing: (listener) => {
        consumer.on(consumer.events.REBALANCING, () => listener());
      },
      onCrash: (listener) => {
        consumer.on(consumer.events.CRASH, (event) => {
          if (!event.payload.restart) listener(event.payload.error);
        });
      },
      stop: () => {
        stopped = true;
        return consumer.disconnect();
      },
    };
  }

  async admin(): Promise<BrokerAdmin> {
    const admin = this.kafka.admin();
    await admin.connect();
    let cluster: Promise<KafkaJsCluster | undefined> | undefined;
    const fetchCluster = () =>
      (cluster ??= (async () => {
        const created = privateCluster(this.kafka);
        await created?.connect();
        return created;
      })().catch((error) => {
        cluster = undefined;
        throw error;
      }));
    // kafkajs connects a broker's fetch connection on first use, and two fetches that find it
    // unconnected at once each open a socket: the first is overwritten, never closed, and keeps
    // the process alive (reading a dead-letter topic's partitions in parallel leaked one per
    // partition). Group-less reads of one admin therefore run one at a time.
    let reading: Promise<unknown> = Promise.resolve();
    const oneAtATime = <T>(read: () => Promise<T>): Promise<T> => {
      const next = reading.then(read, read);
      reading = next.catch(() => undefined);
      return next;
    };
    return {
      async createTopics(topics: readonly TopicSpec[]) {
        if (topics.length === 0) return;
        await admin.createTopics({
          // Ours below: kafkajs' own wait gives up on the first metadata answer that does not
          // know the topic yet (UNKNOWN_TOPIC_OR_PARTITION, seen under CI load).
          waitForLeaders: false,
          topics: topics.map((t) => ({
            topic: t.topic,
            numPartitions: t.partitions,
            configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
          })),
        });
        await untilLeadersAnswer(admin, topics.map((t) => t.topic));
      },
      async describeTopics(topics: readonly string[]) {
        const { topics: described } = await admin.fetchTopicMetadata({ topics: [...topics] });
        return described.map((t) => ({ topic: t.name, partitions: t.partitions.length }));
      },
      listTopics: () => admin.listTopics(),
      async deleteTopics(topics: readonly string[]) {
        if (topics.length > 0) await admin.deleteTopics({ topics: [...topics] });
      },
      async committedOffsets(groupId: string, topics: readonly string[]) {
        const result = await admin.fetchOffsets({ groupId, topics: [...topics] });
        return result.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset })));
      },
      async endOffsets(topic: string) {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.map((o) => ({ topic, partition: o.partition, offset: o.high }));
      },
      async logRanges(topic: string): Promise<LogRange[]> {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.map((o) => ({ topic, partition: o.partition, start: o.low, end: o.high }));
      },
      async messageTimestamps(positions: readonly TopicPartitionOffset[]): Promise<MessageTimestamp[]> {
        if (positions.length === 0) return [];
        return oneAtATime(async () => {
          const connected = await fetchCluster();
          return connected ? fetchTimestamps(connected, positions) : [];
        });
      },
      async readMessages(range: MessageRange): Promise<IncomingMessage[]> {
        return oneAtATime(async () => {
          const connected = await fetchCluster();
          if (!connected) throw new Error('this kafkajs version offers no way to fetch without a consumer group');
          return fetchRange(connected, range);
        });
      },
      async describeGroup(groupId: string) {
        const { groups } = await admin.describeGroups([groupId]);
        const group = groups[0];
        return {
          state: group.state,
          members: group.members.map((m) => {
            const decoded = m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
            const assigned = Object.entries(decoded?.assignment ?? {}).flatMap(([topic, partitions]) =>
              (partitions as number[]).map((partition) => ({ topic, partition })),
            );
            return { memberId: m.memberId, clientId: m.clientId, assigned };
          }),
        };
      },
      async disconnect() {
        const opened = cluster;
        cluster = undefined;
        await Promise.all([admin.disconnect(), opened?.then((c) => c?.disconnect()).catch(() => undefined)]);
      },
    };
  }
}
