/**
 * The Kafka client as this library uses it. Everything above this file talks to these
 * interfaces only, so replacing kafkajs (unmaintained) means writing one adapter.
 */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** The next offset to read, as Kafka commits it (last handled + 1). */
  readonly offset: string;
}

export interface OutgoingMessage {
  readonly topic: string;
  readonly key: string;
  readonly value: string | Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export interface IncomingMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Broker or producer timestamp, ms since epoch. */
  readonly timestamp: number;
}

export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly IncomingMessage[];
  /** The partition's log end when the batch was fetched: at or past it, the reader is caught up. */
  readonly highWatermark: string;
  /** Keeps the group membership alive during long work. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping; work should wind down. */
  isRunning(): boolean;
  /**
   * True when a rebalance or seek made this batch obsolete. A function of its own, called
   * detached (without the batch): the consumer keeps it for messages it still holds, and lets
   * the batch and its other messages go.
   */
  readonly isStale: () => boolean;
}

export interface ConsumerRunOptions {
  /** How many partitions are processed at the same time. */
  readonly partitionsConcurrently: number;
  /** Called per fetched batch of one partition; resolves with the offset of the last message taken
   *  (handled, or handed to later processing): the next fetch starts after it. */
  readonly onBatch: (batch: PartitionBatch) => Promise<string | undefined>;
}

export interface GroupConsumer {
  subscribe(topics: readonly string[], options: { fromBeginning: boolean }): Promise<void>;
  run(options: ConsumerRunOptions): Promise<void>;
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** The partitions this member holds after each completed rebalance. */
  onAssignment(listener: (assigned: readonly TopicPartition[]) => void): void;
  /** Called when the group starts rebalancing, before partitions may move. */
  onRebalancing(listener: () => void): void;
  /** Called when the client gave up and will not restart by itself. */
  onCrash(listener: (error: Error) => void): void;
  stop(): Promise<void>;
}

export interface ProducerOptions {
  /** Broker-side de-duplication of retries within one producer session; implies acks=all. */
  readonly idempotent: boolean;
}

export interface MessageProducer {
  /** Resolves once every message is acknowledged by all in-sync replicas. */
  send(messages: readonly OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly config: Readonly<Record<string, string>>;
}

export interface TopicDescription {
  readonly topic: string;
  readonly partitions: number;
}

export interface LogRange extends TopicPartition {
  readonly start: string;
  readonly end: string;
}

/** Offsets `from` (inclusive) to `to` (exclusive) of one partition. */
export interface MessageRange extends TopicPartition {
  readonly from: string;
  readonly to: string;
}

export interface MessageTimestamp extends TopicPartitionOffset {
  /** ms since epoch (the producer's create time, or the broker's log-append time). */
  readonly timestamp: number;
}

export interface GroupMemberAssignment {
  readonly memberId: string;
  readonly clientId: string;
  readonly assigned: readonly TopicPartition[];
}

export interface BrokerAdmin {
  createTopics(topics: readonly TopicSpec[]): Promise<void>;
  describeTopics(topics: readonly string[]): Promise<TopicDescription[]>;
  listTopics(): Promise<string[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Committed offsets of a group, per partition; `-1` where nothing was committed. */
  committedOffsets(groupId: string, topics: readonly string[]): Promise<TopicPartitionOffset[]>;
  /** Log-end offsets of a topic's partitions. */
  endOffsets(topic: string): Promise<TopicPartitionOffset[]>;
  /** Where each partition of a topic starts (the oldest offset retention kept) and ends (the next offset written). */
  logRanges(topic: string): Promise<LogRange[]>;
  /**
   * The Kafka timestamp of the message at each given offset, by one small fetch per partition
   * leader; a partition where no message is at or after the offset yet is left out.
   */
  messageTimestamps(positions: readonly TopicPartitionOffset[]): Promise<MessageTimestamp[]>;
  /** The messages of a range of one partition, read without a consumer group (what an operator inspects). */
  readMessages(range: MessageRange): Promise<IncomingMessage[]>;
  describeGroup(groupId: string): Promise<{ state: string; members: GroupMemberAssignment[] }>;
  disconnect(): Promise<void>;
}

export interface Broker {
  producer(options: ProducerOptions): Promise<MessageProducer>;
  consumer(options: { groupId: string; clientId?: string }): Promise<GroupConsumer>;
  admin(): Promise<BrokerAdmin>;
}
