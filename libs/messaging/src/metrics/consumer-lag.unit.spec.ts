import type { BrokerAdmin, LogRange, MessageTimestamp, TopicPartitionOffset } from '../kafka/broker';
import { byPartitionOnce, ConsumerLagReader, lagSeconds, partitionLag } from './consumer-lag';

describe('partitionLag', () => {
  it('is the log end minus the committed offset', () => {
    expect(partitionLag({ start: '0', end: '10' }, '7')).toEqual({ position: '7', messages: 3 });
    expect(partitionLag({ start: '0', end: '10' }, '10')).toEqual({ position: '10', messages: 0 });
  });

  it('counts from the log start when nothing was committed (a new group reads from the beginning)', () => {
    expect(partitionLag({ start: '4', end: '10' }, '-1')).toEqual({ position: '4', messages: 6 });
    expect(partitionLag({ start: '4', end: '10' }, undefined)).toEqual({ position: '4', messages: 6 });
    expect(partitionLag({ start: '0', end: '0' }, '-1')).toEqual({ position: '0', messages: 0 });
  });

  it('counts from the log start when retention removed what the group had not read', () => {
    expect(partitionLag({ start: '50', end: '60' }, '20')).toEqual({ position: '50', messages: 10 });
  });

  it('is never negative (a commit read after a newer end offset) and holds offsets past 2^53', () => {
    expect(partitionLag({ start: '0', end: '10' }, '12').messages).toBe(0);
    expect(partitionLag({ start: '9007199254740993', end: '9007199254740999' }, '9007199254740995')).toEqual({ position: '9007199254740995', messages: 4 });
  });
});

describe('lagSeconds', () => {
  it('is 0 without lag, the age of the oldest unread message otherwise, unknown without its timestamp', () => {
    expect(lagSeconds(0, undefined, 10_000)).toBe(0);
    expect(lagSeconds(3, 4_000, 10_000)).toBe(6);
    expect(lagSeconds(3, undefined, 10_000)).toBeUndefined();
    // A producer clock ahead of ours does not make the age negative.
    expect(lagSeconds(1, 12_000, 10_000)).toBe(0);
  });
});

describe('byPartitionOnce', () => {
  it('puts each partition at most once into a round', () => {
    const p = (topic: string, partition: number, offset: string) => ({ topic, partition, offset });
    expect(byPartitionOnce([p('a', 0, '1'), p('a', 1, '5'), p('a', 0, '3'), p('b', 0, '2'), p('a', 0, '4')])).toEqual([
      [p('a', 0, '1'), p('a', 1, '5'), p('b', 0, '2')],
      [p('a', 0, '3')],
      [p('a', 0, '4')],
    ]);
    expect(byPartitionOnce([])).toEqual([]);
  });
});

/** A broker admin answering from fixed offsets, recording which timestamps were fetched. */
function fakeAdmin(state: {
  ranges: Record<string, LogRange[]>;
  committed: Record<string, TopicPartitionOffset[]>;
  timestamps: Record<string, number>;
}) {
  const fetched: TopicPartitionOffset[][] = [];
  const admin = {
    logRanges: async (topic: string) => state.ranges[topic] ?? [],
    committedOffsets: async (group: string, topics: readonly string[]) => (state.committed[group] ?? []).filter((c) => topics.includes(c.topic)),
    messageTimestamps: async (positions: readonly TopicPartitionOffset[]): Promise<MessageTimestamp[]> => {
      fetched.push([...positions]);
      return positions.flatMap((p) => {
        const timestamp = state.timestamps[`${p.topic}:${p.partition}:${p.offset}`];
        return timestamp === undefined ? [] : [{ ...p, timestamp }];
      });
    },
  } as unknown as BrokerAdmin;
  return { admin, fetched };
}

describe('ConsumerLagReader', () => {
  const range = (topic: string, partition: number, start: string, end: string): LogRange => ({ topic, partition, start, end });
  const commit = (topic: string, partition: number, offset: string): TopicPartitionOffset => ({ topic, partition, offset });

  it('reports every partition of every topic of each group, with seconds from the oldest unread message', async () => {
    const now = 100_000;
    const { admin, fetched } = fakeAdmin({
      ranges: { t: [range('t', 0, '0', '10'), range('t', 1, '0', '5')], 'g.redrive': [range('g.redrive', 0, '0', '0')] },
      committed: { g: [commit('t', 0, '7'), commit('t', 1, '5'), commit('g.redrive', 0, '-1')] },
      timestamps: { 't:0:7': 97_500 },
    });
    const lag = await new ConsumerLagReader(() => now).read(admin, [{ groupId: 'g', topics: ['t', 'g.redrive'] }]);
    expect(lag).toEqual([
      { group: 'g', topic: 't', partition: 0, messages: 3, seconds: 2.5 },
      { group: 'g', topic: 't', partition: 1, messages: 0, seconds: 0 },
      { group: 'g', topic: 'g.redrive', partition: 0, messages: 0, seconds: 0 },
    ]);
    // Only the partition with lag was fetched.
    expect(fetched).toEqual([[commit('t', 0, '7')]]);
  });

  it('fetches a timestamp once while the committed offset stays, again when it moves', async () => {
    const state = { ranges: { t: [range('t', 0, '0', '10')] }, committed: { g: [commit('t', 0, '7')] }, timestamps: { 't:0:7': 1_000, 't:0:8': 2_000 } };
    const { admin, fetched } = fakeAdmin(state);
    const reader = new ConsumerLagReader(() => 10_000);
    await reader.read(admin, [{ groupId: 'g', topics: ['t'] }]);
    await reader.read(admin, [{ groupId: 'g', topics: ['t'] }]);
    expect(fetched).toHaveLength(1);
    state.committed.g = [commit('t', 0, '8')];
    expect(await reader.read(admin, [{ groupId: 'g', topics: ['t'] }])).toEqual([{ group: 'g', topic: 't', partition: 0, messages: 2, seconds: 8 }]);
    expect(fetched).toHaveLength(2);
  });

  it('asks for one partition once per request when two groups stand at different offsets of it', async () => {
    const { admin, fetched } = fakeAdmin({
      ranges: { t: [range('t', 0, '0', '10')] },
      committed: { a: [commit('t', 0, '2')], b: [commit('t', 0, '6')] },
      timestamps: { 't:0:2': 1_000, 't:0:6': 5_000 },
    });
    const lag = await new ConsumerLagReader(() => 10_000).read(admin, [
      { groupId: 'a', topics: ['t'] },
      { groupId: 'b', topics: ['t'] },
    ]);
    expect(lag.map((l) => [l.group, l.messages, l.seconds])).toEqual([
      ['a', 8, 9],
      ['b', 4, 5],
    ]);
    expect(fetched.map((round) => round.length)).toEqual([1, 1]);
  });

  it('leaves seconds out where the timestamp could not be read, keeping the messages', async () => {
    const { admin } = fakeAdmin({ ranges: { t: [range('t', 0, '0', '10')] }, committed: { g: [] }, timestamps: {} });
    expect(await new ConsumerLagReader().read(admin, [{ groupId: 'g', topics: ['t'] }])).toEqual([{ group: 'g', topic: 't', partition: 0, messages: 10 }]);
  });
});
