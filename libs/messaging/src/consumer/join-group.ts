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
  /** The client gave up for good (it does not restart by itself). */
  readonly onCrashed: (error: unknown) => void;
}

/** A connected consumer of the group with the membership events every use-case consumer logs. */
export async function joinGroup(membership: GroupMembership): Promise<GroupConsumer> {
  const { broker, groupId, logger } = membership;
  const consumer = await broker.consumer({ groupId });
  consumer.onAssignment((assigned) => {
    // Every assignment starts from the committed offsets, so in-memory state goes here too, not
    // only on the rebalance notice: kafkajs re-joins without one when the coordinator forgot the
    // member (UNKNOWN_MEMBER_ID after its session expired) and when it restarts after a crash. A
    // member that kept its state then held offsets that another member had meanwhile committed
    // past; they never finished, and the partition's commit point stopped moving for good.
    membership.onRebalancing();
    membership.onAssigned(assigned);
    logger.info('partitions assigned', { group: groupId, partitions: assigned.length });
  });
  consumer.onRebalancing(membership.onRebalancing);
  consumer.onCrash((error) => {
    logger.error('consumer crashed and the client will not restart it', { group: groupId, ...errorFields(error) });
    membership.onCrashed(error);
  });
  return consumer;
}
