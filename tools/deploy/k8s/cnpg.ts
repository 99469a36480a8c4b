import { databaseSql, runtimePrivilegesSql } from '@platform/testing';
import { databaseCluster, databaseName, databaseRole, migrationRole, runtimeRoleSecret, SETTINGS } from '../settings';
import { serviceLabels } from './labels';

/** A CloudNativePG `Cluster` (postgresql.cnpg.io/v1): the service's own PostgreSQL. */
export interface CnpgClusterResource {
  readonly apiVersion: 'postgresql.cnpg.io/v1';
  readonly kind: 'Cluster';
  readonly metadata: { readonly name: string; readonly labels: Record<string, string> };
  readonly spec: {
    readonly instances: number;
    readonly imageName: string;
    readonly primaryUpdateStrategy: 'unsupervised' | 'supervised';
    readonly storage: { readonly size: string };
    readonly bootstrap: { readonly initdb: { readonly database: string; readonly owner: string; readonly postInitApplicationSQL: readonly string[] } };
    readonly managed: { readonly roles: readonly ManagedRole[] };
    readonly postgresql: { readonly parameters: Record<string, string> };
  };
}

/** A role CNPG keeps as declared (spec.managed.roles), its password from a basic-auth Secret. */
export interface ManagedRole {
  readonly name: string;
  readonly ensure: 'present';
  readonly login: boolean;
  readonly inherit: boolean;
  readonly passwordSecret: { readonly name: string };
  readonly comment: string;
}

/** Connections the server accepts; the tests check every replica's pool fits under it. */
export const MAX_CONNECTIONS = 200;

/**
 * One cluster per service database, with the service's two roles (the names `npm start` uses
 * locally). initdb creates the database owned by the migration role; CNPG generates that role's
 * password and publishes its connection string as `uri` in the Secret `<cluster>-app`
 * (MIGRATION_DATABASE_URL). The runtime role is created right after, with the privileges
 * `npm start` gives it (rows only, through default privileges), and kept by CNPG as a managed
 * role whose password comes from the Secret `<cluster>-runtime` the operator creates. One
 * instance here; the prod overlay runs three (a primary and two streaming replicas).
 */
export function databaseClusterResource(service: string): CnpgClusterResource {
  const roles = { database: databaseName(service), migrator: migrationRole(service), runtime: databaseRole(service) };
  // initdb already created the database, owned by the migrator: its access and the runtime role's privileges remain.
  const [, ...databaseAccess] = databaseSql(roles);
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: databaseCluster(service), labels: serviceLabels(service, 'database') },
    spec: {
      instances: 1,
      imageName: `ghcr.io/cloudnative-pg/postgresql:${SETTINGS.postgres.major}`,
      primaryUpdateStrategy: 'unsupervised',
      storage: { size: '1Gi' },
      bootstrap: {
        initdb: {
          database: roles.database,
          owner: roles.migrator,
          // Run as the superuser in the new database; CNPG sets the runtime role's password (managed below).
          postInitApplicationSQL: [`CREATE ROLE ${roles.runtime} LOGIN;`, ...databaseAccess, ...runtimePrivilegesSql(roles)],
        },
      },
      managed: {
        roles: [{ name: roles.runtime, ensure: 'present', login: true, inherit: true, passwordSecret: { name: runtimeRoleSecret(service) }, comment: `${service} at runtime: rows only, owns nothing` }],
      },
      postgresql: { parameters: { max_connections: String(MAX_CONNECTIONS) } },
    },
  };
}
