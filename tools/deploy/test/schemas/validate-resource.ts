import { ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { CNPG_CLUSTER_SPEC } from './cloudnative-pg';
import { schemaErrors, type JsonSchema } from './json-schema';
import { KAFKA_TOPIC_SPEC, KAFKA_USER_SPEC } from './strimzi';

interface Validatable {
  validate(): void;
}

/** Built-in kinds: the Kubernetes OpenAPI schemas as compiled by kubernetes-models. */
const BUILT_IN: Record<string, new (data: never) => Validatable> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'v1 ConfigMap': ConfigMap,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
};

/** Operator kinds: their `spec` against the CRD schemas in this folder. */
const CUSTOM: Record<string, { spec: JsonSchema; name: RegExp }> = {
  // Strimzi names topics and users after the resource: DNS subdomains.
  'kafka.strimzi.io/v1 KafkaTopic': { spec: KAFKA_TOPIC_SPEC, name: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/ },
  'kafka.strimzi.io/v1 KafkaUser': { spec: KAFKA_USER_SPEC, name: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/ },
  // CloudNativePG derives Service and Secret names from the cluster's: a DNS label.
  'postgresql.cnpg.io/v1 Cluster': { spec: CNPG_CLUSTER_SPEC, name: /^[a-z]([-a-z0-9]*[a-z0-9])?$/ },
};

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Why a resource would be refused, or [] when it validates: built-in kinds through their
 * kubernetes-models class, Strimzi and CloudNativePG kinds through their CRD schemas (metadata
 * through the apimachinery ObjectMeta model). An unknown kind is an error, so nothing passes
 * unvalidated.
 */
export function resourceErrors(resource: Record<string, unknown>): string[] {
  const key = `${String(resource['apiVersion'])} ${String(resource['kind'])}`;
  const Model = BUILT_IN[key];
  if (Model) {
    try {
      new Model(resource as never).validate();
      return [];
    } catch (error) {
      return [errorText(error)];
    }
  }
  const custom = CUSTOM[key];
  if (!custom) return [`no schema for ${key}: add it to tools/deploy/test/schemas`];
  const errors: string[] = [];
  const metadata = resource['metadata'] as { name?: string } | undefined;
  try {
    new ObjectMeta(metadata as never).validate();
  } catch (error) {
    errors.push(`metadata: ${errorText(error)}`);
  }
  if (!metadata?.name || !custom.name.test(metadata.name)) errors.push(`metadata.name "${metadata?.name}" must match ${custom.name}`);
  const extra = Object.keys(resource).filter((k) => !['apiVersion', 'kind', 'metadata', 'spec'].includes(k));
  if (extra.length > 0) errors.push(`unknown top-level fields: ${extra.join(', ')}`);
  if (!('spec' in resource)) errors.push('spec is required');
  else errors.push(...schemaErrors(custom.spec, resource['spec'], 'spec'));
  return errors;
}
