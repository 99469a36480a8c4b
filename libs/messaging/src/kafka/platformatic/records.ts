import { IS_CONTROL, type fetchV17 } from '@platformatic/kafka';
import type { IncomingMessage, TopicPartition } from '../broker';

/** What one partition of a Fetch response holds from the requested offset on. */
export interface FetchedPartition {
  readonly messages: IncomingMessage[];
  /** The offset after the last record returned (control records and skipped ones included); undefined when none was. */
  readonly next: bigint | undefined;
}

export function partitionKey({ topic, partition }: TopicPartition): string {
  return `${topic}\u0000${partition}`;
}

/**
 * The messages of one partition's record batches at or after `from`, with values of their own.
 * A fetch returns whole batches, so records before `from` are skipped, as are transaction markers.
 */
export function fetchedPartition(topic: string, fetched: fetchV17.FetchResponsePartition, from: bigint): FetchedPartition {
  const messages: IncomingMessage[] = [];
  let next: bigint | undefined;
  for (const batch of fetched.records ?? []) {
    const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (end > from) next = end;
    if (batch.attributes & IS_CONTROL) continue;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < from) continue;
      const headers: Record<string, string> = {};
      for (const [name, value] of record.headers) if (name && value) headers[name.toString()] = value.toString();
      messages.push({
        topic,
        partition: fetched.partitionIndex,
        offset: offset.toString(),
        key: record.key ? record.key.toString() : null,
        // A copy: the client's value is a slice of the whole Fetch response (hundreds of KiB),
        // which one buffered message would keep alive until it is handled and collected.
        value: record.value ? Buffer.from(record.value) : record.value,
        headers,
        timestamp: Number(batch.firstTimestamp + record.timestampDelta),
      });
    }
  }
  return { messages, next };
}

export function groupByTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list }));
}

/**
 * Drops a Fetch response's decoded records once its messages are taken. The client keeps each
 * connection's last response reachable (through the callback of its request) until the next
 * one: a heap snapshot of 20 groups catching up held 20 responses with 5,780 records and their
 * header buffers (about 100,000 Buffer objects) that no batch used any more.
 */
export function releaseRecords(response: fetchV17.FetchResponse): void {
  for (const { partitions } of response.responses) for (const fetched of partitions) fetched.records = undefined;
}
