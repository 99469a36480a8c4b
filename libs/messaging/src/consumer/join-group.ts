import { errorFields, type Logger } from '@platform/core';
import type { Broker, GroupConsumer, TopicPartition } from '../kafka/broker';

export interface GroupMembership {
  readonly broker: Broker;
  readonly groupId: string;
  readonly logger: Logger;
  /** The partitions held after each completed rebalance. */
  readonly onAssigned: (assigned: readonly TopicPartition[]) => void;
  /** Partitions may move: drop in-memory state; the fetch resumes at the committed offsets. */
  readonly onRebalancing: () => void;
  /** The client gave up for good. */
  readonly onCrashed: () => void;
}

/** A connected consumer of the group with the membership events every use-case consumer logs. */
export async function joinGroup(membership: GroupMembership): Promise<GroupConsumer> {
  const { broker, groupId, logger } = membership;
  const consumer = await broker.consumer({ groupId });
  consumer.onAssignment((assigned) => {
    membership.onAssigned(assigned);
    logger.info('partitions assigned', { group: groupId, partitions: assigned.length });
  });
  consumer.onRebalancing(membership.onRebalancing);
  consumer.onCrash((error) => {
    membership.onCrashed();
    logger.error('consumer crashed and will not restart', { group: groupId, ...errorFields(error) });
  });
  return consumer;
}
