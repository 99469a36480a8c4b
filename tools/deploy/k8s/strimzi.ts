import type { TopicSpec } from '@platform/messaging';
import type { KafkaAcl } from '../kafka/acls';
import { kafkaUserName, SETTINGS } from '../settings';
import { serviceLabels } from './labels';

/**
 * Strimzi custom resources, `kafka.strimzi.io/v1` (Strimzi 0.49 or later; the v1beta2 API goes
 * away in Strimzi 1.0). The `strimzi.io/cluster` label tells the entity operator which Kafka
 * cluster a resource belongs to.
 */
export interface KafkaTopicResource {
  readonly apiVersion: 'kafka.strimzi.io/v1';
  readonly kind: 'KafkaTopic';
  readonly metadata: { readonly name: string; readonly labels: Record<string, string> };
  readonly spec: { readonly partitions: number; readonly replicas: number; readonly config: Record<string, string> };
}

export interface KafkaUserResource {
  readonly apiVersion: 'kafka.strimzi.io/v1';
  readonly kind: 'KafkaUser';
  readonly metadata: { readonly name: string; readonly labels: Record<string, string> };
  readonly spec: {
    readonly authentication: { readonly type: 'scram-sha-512' };
    readonly authorization: { readonly type: 'simple'; readonly acls: readonly KafkaAcl[] };
  };
}

/** Kubernetes object names are DNS subdomains; a topic name that is not one cannot name its KafkaTopic. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function kafkaTopic(service: string, spec: TopicSpec): KafkaTopicResource {
  if (!DNS_SUBDOMAIN.test(spec.topic) || spec.topic.length > 253) {
    throw new Error(`Topic ${spec.topic} is not a valid Kubernetes name; give its KafkaTopic another name and set spec.topicName`);
  }
  return {
    apiVersion: 'kafka.strimzi.io/v1',
    kind: 'KafkaTopic',
    metadata: { name: spec.topic, labels: { 'strimzi.io/cluster': SETTINGS.kafka.cluster, ...serviceLabels(service, 'kafka') } },
    spec: { partitions: spec.partitions, replicas: SETTINGS.kafka.topicReplicas, config: { ...spec.config } },
  };
}

/**
 * The service's Kafka identity. SCRAM-SHA-512: the User Operator stores the generated password
 * in a Secret named after the user, in the same namespace, which the Deployment reads.
 */
export function kafkaUser(service: string, acls: readonly KafkaAcl[]): KafkaUserResource {
  return {
    apiVersion: 'kafka.strimzi.io/v1',
    kind: 'KafkaUser',
    metadata: { name: kafkaUserName(service), labels: { 'strimzi.io/cluster': SETTINGS.kafka.cluster, ...serviceLabels(service, 'kafka') } },
    spec: { authentication: { type: 'scram-sha-512' }, authorization: { type: 'simple', acls } },
  };
}
