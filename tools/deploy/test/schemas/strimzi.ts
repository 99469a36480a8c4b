import type { JsonSchema } from './json-schema';

/**
 * Strimzi `kafka.strimzi.io/v1` KafkaTopic and KafkaUser, transcribed from the CRDs Strimzi
 * ships (packaging/install/cluster-operator/043-Crd-kafkatopic.yaml and 044-Crd-kafkauser.yaml):
 * the `spec` fields with their types, enums and bounds. No npm package publishes these
 * schemas; `status` and `template` are left out (never written by us), and unknown fields are
 * errors because the API server's strict field validation rejects them.
 */
const name = { type: 'string' } as const;

export const KAFKA_TOPIC_SPEC: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    partitions: { type: 'integer', minimum: 1 },
    replicas: { type: 'integer', minimum: 1, maximum: 32767 },
    // x-kubernetes-preserve-unknown-fields: any topic configuration, scalar values.
    config: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
    topicName: name,
  },
};

const ACL_RULE: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['resource', 'operations'],
  properties: {
    type: { type: 'string', enum: ['allow', 'deny'] },
    resource: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        name,
        patternType: { type: 'string', enum: ['literal', 'prefix'] },
        type: { type: 'string', enum: ['topic', 'group', 'cluster', 'transactionalId'] },
      },
    },
    host: { type: 'string' },
    operations: {
      type: 'array',
      items: {
        type: 'string',
        enum: ['Read', 'Write', 'Create', 'Delete', 'Alter', 'Describe', 'ClusterAction', 'AlterConfigs', 'DescribeConfigs', 'IdempotentWrite', 'All'],
      },
    },
  },
};

export const KAFKA_USER_SPEC: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    userName: name,
    authentication: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        type: { type: 'string', enum: ['tls', 'tls-external', 'scram-sha-512'] },
        password: { type: 'object', required: ['valueFrom'] },
      },
    },
    authorization: {
      type: 'object',
      additionalProperties: false,
      required: ['acls', 'type'],
      properties: { type: { type: 'string', enum: ['simple'] }, acls: { type: 'array', items: ACL_RULE } },
    },
    quotas: {
      type: 'object',
      additionalProperties: false,
      properties: {
        producerByteRate: { type: 'integer', minimum: 0 },
        consumerByteRate: { type: 'integer', minimum: 0 },
        requestPercentage: { type: 'integer', minimum: 0 },
        controllerMutationRate: { type: 'number', minimum: 0 },
      },
    },
  },
};
