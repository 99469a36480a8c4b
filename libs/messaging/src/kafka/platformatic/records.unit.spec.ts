import { IS_CONTROL, type fetchV17 } from '@platformatic/kafka';
import { fetchedPartition, releaseRecords } from './records';

type RecordsBatch = NonNullable<fetchV17.FetchResponsePartition['records']>[number];

/** One response buffer holding every record's value, as the client decodes them: slices of it. */
function batchAt(firstOffset: number, values: string[], attributes = 0): RecordsBatch {
  const joined = values.join('');
  // Buffer.alloc, never from Node's shared pool: the copies must be told apart from it.
  const response = Buffer.alloc(Buffer.byteLength(joined));
  response.write(joined);
  let at = 0;
  const records = values.map((value, i) => {
    const slice = response.subarray(at, (at += value.length));
    return { length: 0, attributes: 0, timestampDelta: BigInt(i), offsetDelta: i, key: Buffer.from(`k${i}`), value: slice, headers: [[Buffer.from('ce_id'), Buffer.from(`id-${firstOffset + i}`)]] as [Buffer, Buffer][] };
  });
  return { firstOffset: BigInt(firstOffset), length: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes, lastOffsetDelta: values.length - 1, firstTimestamp: 1000n, maxTimestamp: 1000n, producerId: -1n, producerEpoch: -1, firstSequence: 0, records };
}

function partitionOf(batches: RecordsBatch[]): fetchV17.FetchResponsePartition {
  return { partitionIndex: 3, errorCode: 0, highWatermark: 100n, lastStableOffset: 100n, logStartOffset: 0n, abortedTransactions: null, preferredReadReplica: -1, records: batches };
}

describe('fetchedPartition', () => {
  it('takes the records at or after the asked offset, with their headers, and says where the next fetch starts', () => {
    const { messages, next } = fetchedPartition('t', partitionOf([batchAt(10, ['a', 'b', 'c'])]), 11n);
    expect(messages.map((m) => [m.offset, m.key, m.value?.toString(), m.headers['ce_id'], m.timestamp, m.partition])).toEqual([
      ['11', 'k1', 'b', 'id-11', 1001],
      ['12', 'k2', 'c', 'id-12', 1002],
    ].map((row) => [...row, 3]));
    expect(next).toBe(13n);
  });

  it('steps over transaction markers without a message', () => {
    const { messages, next } = fetchedPartition('t', partitionOf([batchAt(20, ['marker'], IS_CONTROL)]), 20n);
    expect(messages).toEqual([]);
    expect(next).toBe(21n);
  });

  it('gives each message a value of its own, not a slice of the response it came in', () => {
    const batch = batchAt(0, ['x'.repeat(100), 'y'.repeat(100)]);
    const { messages } = fetchedPartition('t', partitionOf([batch]), 0n);
    for (const [i, message] of messages.entries()) {
      expect(message.value?.equals(batch.records[i].value as Buffer)).toBe(true);
      expect(message.value?.buffer).not.toBe(batch.records[i].value?.buffer);
    }
  });
});

describe('releaseRecords', () => {
  it('drops every partition’s records from a response the client may keep', () => {
    const response: fetchV17.FetchResponse = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [{ topicId: 'id', partitions: [partitionOf([batchAt(0, ['a'])]), partitionOf([batchAt(5, ['b'])])] }],
    };
    releaseRecords(response);
    expect(response.responses[0].partitions.map((p) => p.records)).toEqual([undefined, undefined]);
  });
});
