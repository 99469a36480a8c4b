import { Injectable } from '@nestjs/common';
import { ConsumerLagReader, type PartitionLag } from '@platform/messaging';
import { KafkaAccess } from '../kafka/kafka-access';
import { ConsoleSettings } from '../settings';
import { useCasesOf } from '../topology/topology';

export interface GroupLag {
  readonly group: string;
  readonly service: string;
  readonly useCase: string;
  /** Messages not yet handled, over every partition of its topics and its redrive topic. */
  readonly messages: number;
  /** Age of the oldest of them (the largest over partitions); undefined where unknown. */
  readonly seconds?: number;
  /** The consumer group's state as the coordinator reports it ('Stable', 'Empty' when no member runs, ...). */
  readonly state: string;
  readonly partitions: readonly PartitionLag[];
}

/** Lag per use-case group and partition, read from Kafka the way the services' own lag metrics are. */
@Injectable()
export class LagReader {
  private readonly reader = new ConsumerLagReader();

  constructor(
    private readonly kafka: KafkaAccess,
    private readonly settings: ConsoleSettings,
  ) {}

  read(): Promise<GroupLag[]> {
    const useCases = useCasesOf(this.settings.topology);
    return this.kafka.withAdmin(async (admin) => {
      // Topics appear when their services first start: a group is read on those that exist.
      const existing = new Set(await admin.listTopics());
      const groups = useCases.map((u) => ({ groupId: u.group, topics: [...u.topics, u.redriveTopic].filter((t) => existing.has(t)) }));
      const [lags, states] = await Promise.all([
        this.reader.read(admin, groups.filter((g) => g.topics.length > 0)),
        Promise.all(useCases.map((u) => admin.describeGroup(u.group).then((g) => g.state, () => 'Unknown'))),
      ]);
      return useCases.map((u, i) => {
        const partitions = lags.filter((l) => l.group === u.group);
        const ages = partitions.filter((p) => p.messages > 0).map((p) => p.seconds);
        const known = ages.every((s) => s !== undefined);
        return {
          group: u.group,
          service: u.service,
          useCase: u.name,
          messages: partitions.reduce((sum, p) => sum + p.messages, 0),
          ...(known ? { seconds: Math.max(0, ...(ages as number[])) } : {}),
          state: states[i],
          partitions,
        };
      });
    });
  }
}
