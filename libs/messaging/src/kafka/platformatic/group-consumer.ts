import { ConnectionPool, Consumer, consumerGroupChannel, ListOffsetTimestamps, type ConsumerGroupJoinPayload, type fetchV17 } from '@platformatic/kafka';
import { errorFields, type Logger } from '@platform/core';
import type { ConsumerRunOptions, GroupConsumer, IncomingMessage, PartitionBatch, TopicPartition, TopicPartitionOffset } from '../broker';
import { MIN_FETCH_BYTES, type FetchBudget } from '../fetch-budget';
import { GroupGeneration } from '../group-generation';
import { fetchedPartition, groupByTopic, partitionKey, releaseRecords } from './records';

export interface PlatformaticConsumerSettings {
  readonly logger: Logger;
  readonly groupId: string;
  /** Connection options of the client, for the connections that only fetch. */
  readonly connection: ConstructorParameters<typeof ConnectionPool>[1];
  readonly sessionTimeoutMs: number;
  readonly maxWaitTimeInMs: number;
  readonly maxBytesPerPartition: number;
  readonly maxBytes: number;
  /** Shared by the process's groups: what this one may hold fetched and not handed back. */
  readonly budget: FetchBudget;
}

/** What a fetched message holds: its bytes and, decoded, about as much again in objects and strings. */
const heldBytes = (messages: readonly IncomingMessage[]) => messages.reduce((n, m) => n + 2 * (m.value?.length ?? 0) + 512, 0);

/** Fetches that failed one after another (each after the client's own retries) before the consumer counts as crashed. */
const FETCH_FAILURES_BEFORE_CRASH = 5;

type Listener<T> = (value: T) => void;

/**
 * A consumer group member on @platformatic/kafka with the semantics of our kafkajs adapter.
 * The client's message stream keeps one fetch position per partition that moves as soon as
 * messages are fetched; ours moves past what onBatch returned, per partition, and partitions
 * pause one by one. So the client does the group membership (join, sync, heart-beats, commits)
 * and this class fetches: one Fetch per leader at a time, on connections of its own (a fetch
 * long-polls, and on the group's connection it would hold up heart-beats and commits), each
 * partition's batch handed to onBatch, at most `partitionsConcurrently` at once.
 */
export class PlatformaticGroupConsumer implements GroupConsumer {
  private readonly fetchPool: ConnectionPool;
  private readonly generation = new GroupGeneration();
  private topics: string[] = [];
  private fromBeginning = false;
  private assigned: TopicPartition[] = [];
  private readonly positions = new Map<string, bigint>();
  private loading: Promise<void> = Promise.resolve();
  /** Partitions whose batch waits for, or is in, onBatch: not fetched until it returns. */
  private readonly busy = new Set<string>();
  private readonly paused = new Set<string>();
  private readonly fetching = new Set<number>();
  private readonly queue: PartitionBatch[] = [];
  private readonly handling = new Set<Promise<void>>();
  private running = false;
  private crashed = false;
  private fetchFailures = 0;
  private wake: () => void = () => undefined;
  /** Counts what lets a partition be fetched again: a batch handed back, a resume, a (re)join. */
  private changes = 0;
  /** Per leader, the last fetch that did not wait and found nothing: when, and at which count of changes. */
  private readonly emptyPolls = new Map<number, { readonly changes: number; readonly at: number }>();
  private loop?: Promise<void>;
  /** Bytes of the batches fetched and not handed back, and those asked of fetches in flight. */
  private held = 0;
  private asked = 0;
  private leaveBudget: () => void = () => undefined;
  private readonly assignmentListeners: Listener<readonly TopicPartition[]>[] = [];
  private readonly rebalancingListeners: Listener<void>[] = [];
  private readonly crashListeners: Listener<Error>[] = [];
  private readonly onJoinStart = (context: unknown) => {
    const { client, operation } = context as { client?: unknown; operation?: string };
    if (client === this.consumer && operation === 'joinGroup') this.rebalancing();
  };

  constructor(
    private readonly consumer: Consumer,
    private readonly settings: PlatformaticConsumerSettings,
  ) {
    this.fetchPool = new ConnectionPool(`${consumer.clientId}-fetch`, settings.connection);
    consumer.on('consumer:group:join', (payload) => this.joined(payload));
    // The client tells of an eager rebalance only by rejoining: its join's start is the notice.
    consumerGroupChannel.start.subscribe(this.onJoinStart);
    consumer.on('consumer:group:rebalance', () => this.rebalancing());
    // The client gave up rejoining (or a heart-beat found the group gone for good).
    consumer.on('error', (error: Error) => this.crash(error));
  }

  async subscribe(topics: readonly string[], { fromBeginning }: { fromBeginning: boolean }): Promise<void> {
    this.topics = [...new Set([...this.topics, ...topics])];
    this.fromBeginning = fromBeginning;
    this.consumer.topics.trackAll(...topics);
  }

  async run({ partitionsConcurrently, onBatch }: ConsumerRunOptions): Promise<void> {
    this.running = true;
    this.leaveBudget = this.settings.budget.join();
    this.loop = this.fetchLoop(Math.max(1, partitionsConcurrently), onBatch);
    // As kafkajs' run(): the membership is sought in the background; a join that fails for good is a crash.
    this.consumer
      .joinGroup({
        sessionTimeout: this.settings.sessionTimeoutMs,
        rebalanceTimeout: 30_000,
        heartbeatInterval: Math.max(500, Math.floor(this.settings.sessionTimeoutMs / 4)),
      })
      .catch((error: Error) => this.crash(error));
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.consumer.commit({ offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: -1 })) });
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.paused.add(partitionKey(p));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.paused.delete(partitionKey(p));
    this.changes++;
    this.wake();
  }

  onAssignment(listener: (assigned: readonly TopicPartition[]) => void): void {
    this.assignmentListeners.push(listener);
  }

  onRebalancing(listener: () => void): void {
    this.rebalancingListeners.push(listener);
  }

  onCrash(listener: (error: Error) => void): void {
    this.crashListeners.push(listener);
  }

  /** As kafkajs' disconnect(): batches being handled finish, then the member leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.all([...this.handling]);
    this.leaveBudget();
    consumerGroupChannel.start.unsubscribe(this.onJoinStart);
    await this.consumer.close().catch(() => this.consumer.close(true));
    await this.fetchPool.close().catch(() => undefined);
  }

  private rebalancing(): void {
    this.generation.advance();
    for (const listener of this.rebalancingListeners) listener();
  }

  private joined(payload: ConsumerGroupJoinPayload): void {
    this.generation.advance();
    this.assigned = (payload.assignments ?? []).flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
    this.positions.clear();
    this.changes++;
    const joinedIn = this.generation.begin();
    // Every assignment fetches from the committed offsets, as with kafkajs.
    this.loading = this.committedPositions(this.assigned).then(
      (positions) => {
        if (!joinedIn.isCurrent()) return;
        for (const [key, offset] of positions) this.positions.set(key, offset);
        this.changes++;
        this.wake();
      },
      (error: Error) => this.crash(error),
    );
    for (const listener of this.assignmentListeners) listener(this.assigned);
    this.wake();
  }

  private async committedPositions(assigned: readonly TopicPartition[]): Promise<Map<string, bigint>> {
    const positions = new Map<string, bigint>();
    if (assigned.length === 0) return positions;
    const committed = await this.consumer.listCommittedOffsets({ topics: groupByTopic(assigned) });
    const uncommitted: TopicPartition[] = [];
    for (const p of assigned) {
      const offset = committed.get(p.topic)?.[p.partition];
      if (offset === undefined || offset < 0n) uncommitted.push(p);
      else positions.set(partitionKey(p), offset);
    }
    if (uncommitted.length > 0) {
      const byTopic = groupByTopic(uncommitted);
      const reset = await this.consumer.listOffsets({
        topics: byTopic.map((t) => t.topic),
        partitions: Object.fromEntries(byTopic.map((t) => [t.topic, t.partitions])),
        timestamp: this.fromBeginning ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
      });
      for (const p of uncommitted) {
        const offset = reset.get(p.topic)?.[p.partition];
        if (offset !== undefined) positions.set(partitionKey(p), offset);
      }
    }
    return positions;
  }

  private crash(error: Error): void {
    if (this.crashed || !this.running) return;
    this.crashed = true;
    this.running = false;
    this.wake();
    for (const listener of this.crashListeners) listener(error);
  }

  private async fetchLoop(concurrency: number, onBatch: ConsumerRunOptions['onBatch']): Promise<void> {
    while (this.running) {
      const woken = new Promise<void>((resolve) => (this.wake = resolve));
      await this.loading;
      while (this.handling.size < concurrency && this.queue.length > 0) this.handle(this.queue.shift() as PartitionBatch, onBatch);
      await this.fetchIdlePartitions();
      // Woken by a fetch's answer, a finished batch, a join or a resume; the timer covers a leader
      // that moved, and a poll that found nothing while other partitions were busy.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([woken, new Promise((resolve) => (timer = setTimeout(resolve, this.settings.maxWaitTimeInMs)))]);
      clearTimeout(timer);
    }
  }

  private handle(batch: PartitionBatch, onBatch: ConsumerRunOptions['onBatch']): void {
    const task = this.handleBatch(batch, onBatch);
    this.handling.add(task);
    void task.finally(() => {
      this.handling.delete(task);
      this.wake();
    });
  }

  private async handleBatch(batch: PartitionBatch, onBatch: ConsumerRunOptions['onBatch']): Promise<void> {
    const key = partitionKey(batch);
    const bytes = heldBytes(batch.messages);
    try {
      const taken = await onBatch(batch);
      if (taken !== undefined && !batch.isStale()) this.positions.set(key, BigInt(taken) + 1n);
    } catch (error) {
      // As kafkajs: the batch counts as not taken and is fetched again.
      this.settings.logger.warn('batch handler failed; the batch is fetched again', { group: this.settings.groupId, partition: batch.partition, ...errorFields(error) });
    } finally {
      this.held -= bytes;
      this.busy.delete(key);
      this.changes++;
    }
  }

  /**
   * One Fetch per leader without a fetch in flight, for the partitions held, not paused and not
   * busy. A leader waits for data (the long-poll) only while none of its partitions is busy: a
   * busy partition becomes fetchable when its batch is handed back, and a Fetch in flight to its
   * leader would hold it until that Fetch's wait ran out (one connection per leader, answered in
   * order). While some are busy the others are polled without waiting, once per change or per
   * wait time when nothing was there (kafkajs fetches after a fetch's batches are all handled).
   */
  private async fetchIdlePartitions(): Promise<void> {
    if (this.fetchable().length === 0) return;
    const metadata = await this.consumer.metadata({ topics: this.topics }).catch(() => undefined);
    if (!metadata) return this.fetchFailed(new Error('metadata unavailable'));
    // Taken after the wait for the metadata, in the same tick as the busy partitions below: taken
    // before it, a partition handed back meanwhile was left out of a long-poll sent as if none
    // were busy, and its next message waited for that poll (up to the wait time) to come back.
    const wanted = this.fetchable();
    const leaderOf = (p: TopicPartition) => metadata.topics.get(p.topic)?.partitions[p.partition]?.leader;
    const leadersOfBusy = new Set(this.assigned.filter((p) => this.busy.has(partitionKey(p))).map(leaderOf));
    const byLeader = new Map<number, { topicId: string; topic: string; partition: number; offset: bigint }[]>();
    for (const p of wanted) {
      const topic = metadata.topics.get(p.topic);
      const leader = leaderOf(p);
      if (!topic || leader === undefined || leader < 0 || this.fetching.has(leader)) continue;
      if (leadersOfBusy.has(leader) && !this.pollDue(leader)) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), { topicId: topic.id, topic: p.topic, partition: p.partition, offset: this.positions.get(partitionKey(p)) as bigint }]);
    }
    // The budget's room, split between the leaders asked now; none left: a batch handed back wakes the loop.
    const room = this.settings.budget.share - this.held - this.asked;
    if (byLeader.size === 0 || room < MIN_FETCH_BYTES) return;
    const maxBytes = Math.min(this.settings.maxBytes, Math.max(MIN_FETCH_BYTES, Math.floor(room / byLeader.size)));
    for (const [node, partitions] of byLeader) {
      this.fetching.add(node);
      this.asked += maxBytes;
      const waitMs = leadersOfBusy.has(node) ? 0 : this.settings.maxWaitTimeInMs;
      void this.fetchFrom(node, partitions, waitMs, maxBytes).finally(() => {
        this.asked -= maxBytes;
        this.fetching.delete(node);
        this.wake();
      });
    }
  }

  /** Partitions held, positioned, not paused and not busy. */
  private fetchable(): TopicPartition[] {
    return this.assigned.filter((p) => {
      const key = partitionKey(p);
      return this.positions.has(key) && !this.busy.has(key) && !this.paused.has(key);
    });
  }

  /** A poll without waiting is due unless the last one found nothing, nothing changed since, and the wait time has not passed. */
  private pollDue(node: number): boolean {
    const last = this.emptyPolls.get(node);
    return !last || last.changes !== this.changes || Date.now() - last.at >= this.settings.maxWaitTimeInMs;
  }

  private async fetchFrom(node: number, partitions: { topicId: string; topic: string; partition: number; offset: bigint }[], waitMs: number, maxBytes: number): Promise<void> {
    const changesBefore = this.changes;
    const fetchedIn = this.generation.begin();
    const topics = new Map<string, fetchV17.FetchRequestTopic>();
    // Kafka fills the response partition by partition up to maxBytes; a partition's own cap keeps one from taking it all.
    const partitionMaxBytes = Math.min(this.settings.maxBytesPerPartition, maxBytes);
    for (const p of partitions) {
      const topic = topics.get(p.topicId) ?? { topicId: p.topicId, partitions: [] };
      topic.partitions.push({ partition: p.partition, fetchOffset: p.offset, partitionMaxBytes, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
      topics.set(p.topicId, topic);
    }
    let response: fetchV17.FetchResponse;
    try {
      response = await this.consumer.fetch({ node, topics: [...topics.values()], maxWaitTime: waitMs, maxBytes, connectionPool: this.fetchPool });
    } catch (error) {
      if (!this.resetOutOfRange(error, partitions)) this.fetchFailed(error as Error);
      return;
    }
    this.fetchFailures = 0;
    if (!fetchedIn.isCurrent() || !this.running) {
      releaseRecords(response);
      return;
    }
    let found = false;
    for (const { topicId, partitions: answered } of response.responses) {
      for (const fetched of answered) {
        // A fetch session can answer for partitions not asked this time: their data is not ours to take.
        const index = fetched.partitionIndex;
        const asked = partitions.find((p) => p.topicId === topicId && p.partition === index);
        if (!asked) continue;
        const key = partitionKey(asked);
        if (this.positions.get(key) !== asked.offset || this.busy.has(key)) continue;
        const { messages, next } = fetchedPartition(asked.topic, fetched, asked.offset);
        if (messages.length === 0) {
          // Transaction markers only: step over them, as kafkajs does.
          if (next !== undefined) this.positions.set(key, next);
          found ||= next !== undefined;
          continue;
        }
        found = true;
        this.busy.add(key);
        this.held += heldBytes(messages);
        this.queue.push(this.batchOf(asked, messages, fetched.highWatermark.toString(), fetchedIn));
      }
    }
    releaseRecords(response);
    if (waitMs === 0 && !found) this.emptyPolls.set(node, { changes: changesBefore, at: Date.now() });
  }

  /**
   * A fetched partition's batch. Its functions are made here, not in the loop over the response:
   * closures made there shared a scope with the raw response, and each batch kept the whole of
   * it (every record with its header buffers) until its last message was handled.
   */
  private batchOf(asked: TopicPartition, messages: IncomingMessage[], highWatermark: string, fetchedIn: ReturnType<GroupGeneration['begin']>): PartitionBatch {
    const { topic, partition } = asked;
    return {
      topic,
      partition,
      messages,
      highWatermark,
      // The client heart-beats on a timer of its own, whatever the handlers do.
      heartbeat: async () => undefined,
      isRunning: () => this.running,
      isStale: () => !fetchedIn.isCurrent() || !this.assigned.some((p) => p.topic === topic && p.partition === partition),
    };
  }

  /** A position retention deleted, or past the end: reset it as a new group would start (earliest or latest). */
  private resetOutOfRange(error: unknown, partitions: readonly { topicId: string; topic: string; partition: number }[]): boolean {
    const response = (error as { response?: fetchV17.FetchResponse }).response;
    let reset = false;
    for (const { topicId, partitions: answered } of response?.responses ?? []) {
      for (const fetched of answered) {
        const asked = partitions.find((p) => p.topicId === topicId && p.partition === fetched.partitionIndex);
        // OFFSET_OUT_OF_RANGE
        if (!asked || fetched.errorCode !== 1) continue;
        this.positions.set(partitionKey(asked), this.fromBeginning ? fetched.logStartOffset : fetched.highWatermark);
        reset = true;
      }
    }
    if (reset) this.settings.logger.warn('fetch position out of range; reset', { group: this.settings.groupId, to: this.fromBeginning ? 'earliest' : 'latest' });
    return reset;
  }

  private fetchFailed(error: Error): void {
    if (!this.running) return;
    this.fetchFailures++;
    this.settings.logger.warn('fetch failed', { group: this.settings.groupId, failures: this.fetchFailures, ...errorFields(error) });
    this.consumer.clearMetadata();
    if (this.fetchFailures >= FETCH_FAILURES_BEFORE_CRASH) this.crash(error);
  }
}
