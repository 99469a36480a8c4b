import type { JsonSchema } from './json-schema';

/**
 * CloudNativePG `postgresql.cnpg.io/v1` Cluster: the documented `spec` fields this repository
 * uses or is likely to patch in an overlay (API reference, ClusterSpec / BootstrapInitDB /
 * StorageConfiguration / PostgresConfiguration / ManagedConfiguration / RoleConfiguration), with their types and enums. A hand-written
 * subset of the CRD, not the CRD itself (no package publishes it): a field outside it fails
 * here until it is added, which is the point when overlays are edited by hand.
 */
const quantities: JsonSchema = { type: 'object', additionalProperties: { type: ['string', 'integer'] } };

export const CNPG_CLUSTER_SPEC: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['instances'],
  properties: {
    description: { type: 'string' },
    instances: { type: 'integer', minimum: 1 },
    imageName: { type: 'string' },
    primaryUpdateStrategy: { type: 'string', enum: ['unsupervised', 'supervised'] },
    primaryUpdateMethod: { type: 'string', enum: ['switchover', 'restart'] },
    enableSuperuserAccess: { type: 'boolean' },
    minSyncReplicas: { type: 'integer', minimum: 0 },
    maxSyncReplicas: { type: 'integer', minimum: 0 },
    storage: {
      type: 'object',
      additionalProperties: false,
      properties: { size: { type: 'string' }, storageClass: { type: 'string' }, resizeInUseVolumes: { type: 'boolean' } },
    },
    bootstrap: {
      type: 'object',
      additionalProperties: false,
      properties: {
        initdb: {
          type: 'object',
          additionalProperties: false,
          properties: {
            database: { type: 'string' },
            owner: { type: 'string' },
            secret: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' } } },
            dataChecksums: { type: 'boolean' },
            encoding: { type: 'string' },
            localeCollate: { type: 'string' },
            localeCType: { type: 'string' },
            postInitSQL: { type: 'array', items: { type: 'string' } },
            postInitApplicationSQL: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
    managed: {
      type: 'object',
      additionalProperties: false,
      properties: {
        roles: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              name: { type: 'string' },
              comment: { type: 'string' },
              ensure: { type: 'string', enum: ['present', 'absent'] },
              passwordSecret: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' } } },
              disablePassword: { type: 'boolean' },
              connectionLimit: { type: 'integer' },
              validUntil: { type: 'string' },
              inRoles: { type: 'array', items: { type: 'string' } },
              inherit: { type: 'boolean' },
              login: { type: 'boolean' },
              superuser: { type: 'boolean' },
              createdb: { type: 'boolean' },
              createrole: { type: 'boolean' },
              replication: { type: 'boolean' },
              bypassrls: { type: 'boolean' },
            },
          },
        },
      },
    },
    postgresql: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // PostgreSQL settings are strings in the CRD, numbers included.
        parameters: { type: 'object', additionalProperties: { type: 'string' } },
        pg_hba: { type: 'array', items: { type: 'string' } },
      },
    },
    resources: { type: 'object', additionalProperties: false, properties: { requests: quantities, limits: quantities } },
    affinity: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enablePodAntiAffinity: { type: 'boolean' },
        topologyKey: { type: 'string' },
        podAntiAffinityType: { type: 'string', enum: ['preferred', 'required'] },
      },
    },
    monitoring: { type: 'object', additionalProperties: false, properties: { enablePodMonitor: { type: 'boolean' } } },
  },
};
