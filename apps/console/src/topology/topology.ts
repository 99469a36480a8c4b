import { KafkaNaming } from '@platform/messaging';
import generated from './topology.generated.json';

/** One service as its declaration says (tools/deploy writes topology.generated.json from the declarations). */
export interface TopologyService {
  readonly name: string;
  readonly port: number;
  readonly publishes: readonly { readonly type: string; readonly version: number; readonly topic: string }[];
  readonly useCases: readonly { readonly name: string; readonly kind: UseCaseKind; readonly topics: readonly string[] }[];
}

export type UseCaseKind = 'events' | 'windows' | 'saga';

/** A use case with its Kafka names in the console's namespace. */
export interface TopologyUseCase {
  readonly service: string;
  readonly name: string;
  readonly kind: UseCaseKind;
  readonly group: string;
  readonly topics: readonly string[];
  readonly deadLetterTopic: string;
  readonly redriveTopic: string;
}

export interface Topology {
  readonly namespace: string;
  readonly services: readonly {
    readonly name: string;
    readonly publishes: readonly { readonly type: string; readonly topic: string }[];
    readonly useCases: readonly TopologyUseCase[];
  }[];
  readonly topics: readonly string[];
}

export const DECLARED_SERVICES: readonly TopologyService[] = (generated as { services: TopologyService[] }).services;

/** The declared services, topics and use cases, named as they are in Kafka under `namespace`. */
export function topologyIn(namespace: string, services: readonly TopologyService[] = DECLARED_SERVICES): Topology {
  const naming = new KafkaNaming(namespace);
  const named = services.map((s) => ({
    name: s.name,
    publishes: s.publishes.map((p) => ({ type: `${p.type}.v${p.version}`, topic: naming.kafkaTopic(p.topic) })),
    useCases: s.useCases.map((u) => ({
      service: s.name,
      name: u.name,
      kind: u.kind,
      group: naming.group(s.name, u.name),
      topics: u.topics.map((t) => naming.kafkaTopic(t)),
      deadLetterTopic: naming.deadLetterTopic(s.name, u.name),
      redriveTopic: naming.redriveTopic(s.name, u.name),
    })),
  }));
  return { namespace, services: named, topics: [...new Set(named.flatMap((s) => s.publishes.map((p) => p.topic)))] };
}

/** Every use case of the topology. */
export const useCasesOf = (topology: Topology): TopologyUseCase[] => topology.services.flatMap((s) => s.useCases);
