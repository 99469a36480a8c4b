import type { EventClass } from '@platform/contracts';
import { useCaseEvents } from '../consumer/use-case-events';

export interface UseCaseNames {
  readonly groupId: string;
  /** The topics of the events it declares and of their older versions (which it receives upcast), and no other. */
  readonly topics: readonly string[];
  readonly deadLetterTopic: string;
  readonly redriveTopic: string;
}

const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const NAME_PATTERN = /^[a-z][a-z0-9-]*$/;

/**
 * Kafka names derived from the contracts and the service: topics, consumer groups and
 * dead-letter topics. An optional namespace prefixes them all (an environment, or one test
 * run), so several isolated platforms can share one cluster.
 */
export class KafkaNaming {
  private readonly prefix: string;

  constructor(readonly namespace = '') {
    if (namespace !== '' && !NAMESPACE_PATTERN.test(namespace)) {
      throw new Error(`Kafka namespace "${namespace}" may only hold lower-case letters, digits, "_" and "-"`);
    }
    this.prefix = namespace ? `${namespace}.` : '';
  }

  topic(event: EventClass): string {
    return this.kafkaTopic(event.contract.topic);
  }

  /** The Kafka topic of a contract topic name in this namespace. */
  kafkaTopic(contractTopic: string): string {
    return this.prefix + contractTopic;
  }

  /** The contract topic of a namespaced Kafka topic, or undefined when outside this namespace. */
  contractTopic(kafkaTopic: string): string | undefined {
    return kafkaTopic.startsWith(this.prefix) ? kafkaTopic.slice(this.prefix.length) : undefined;
  }

  /** `<service>.<use-case>`: one consumer group, hence its own offsets, per business use case. */
  group(service: string, useCase: string): string {
    assertName('service', service);
    assertName('use case', useCase);
    return `${this.prefix}${service}.${useCase}`;
  }

  /** Every Kafka name of one use case: its group, the topics it reads, its own topics. */
  useCase(service: string, useCase: { name: string; events: readonly EventClass[] }): UseCaseNames {
    const topics = [...new Set(useCaseEvents(useCase).all.map((e) => this.topic(e)))];
    if (topics.length === 0) throw new Error(`use case ${useCase.name} declares no events`);
    return {
      groupId: this.group(service, useCase.name),
      topics,
      deadLetterTopic: this.deadLetterTopic(service, useCase.name),
      redriveTopic: this.redriveTopic(service, useCase.name),
    };
  }

  /** Where a use case's failed events go, with the reason in headers. */
  deadLetterTopic(service: string, useCase: string): string {
    return `${this.group(service, useCase)}.dlq`;
  }

  /** Where redriven dead letters are put back, read by that use case alone. */
  redriveTopic(service: string, useCase: string): string {
    return `${this.group(service, useCase)}.redrive`;
  }
}

export function assertName(what: string, name: string): void {
  if (!NAME_PATTERN.test(name)) throw new Error(`${what} name "${name}" must be kebab-case: lower-case letters, digits and "-"`);
}
