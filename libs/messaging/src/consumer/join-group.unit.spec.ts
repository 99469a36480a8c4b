import { silentLogger } from '@platform/core';
import type { Broker, GroupConsumer, TopicPartition } from '../kafka/broker';
import { joinGroup } from './join-group';

/** A group consumer whose membership events the test raises, as kafkajs would. */
function fakeMember() {
  const listeners: { assigned?: (a: readonly TopicPartition[]) => void; rebalancing?: () => void } = {};
  const consumer = {
    onAssignment: (l: (a: readonly TopicPartition[]) => void) => (listeners.assigned = l),
    onRebalancing: (l: () => void) => (listeners.rebalancing = l),
    onCrash: () => undefined,
  } as unknown as GroupConsumer;
  const broker = { consumer: async () => consumer } as unknown as Broker;
  return { broker, listeners };
}

describe('joinGroup', () => {
  it('drops in-memory state on every assignment, also when no rebalance notice came first', async () => {
    const { broker, listeners } = fakeMember();
    const calls: string[] = [];
    await joinGroup({
      broker,
      groupId: 'g',
      logger: silentLogger,
      onAssigned: (a) => calls.push(`assigned ${a.length}`),
      onRebalancing: () => calls.push('reset'),
      onCrashed: () => undefined,
    });
    // kafkajs re-joins without a REBALANCING event after UNKNOWN_MEMBER_ID and after a restart.
    listeners.assigned?.([{ topic: 't', partition: 0 }]);
    listeners.rebalancing?.();
    listeners.assigned?.([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    expect(calls).toEqual(['reset', 'assigned 1', 'reset', 'reset', 'assigned 2']);
  });
});
