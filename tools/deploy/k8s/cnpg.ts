import { databaseCluster, databaseName, databaseRole, SETTINGS } from '../settings';
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
    readonly bootstrap: { readonly initdb: { readonly database: string; readonly owner: string } };
    readonly postgresql: { readonly parameters: Record<string, string> };
  };
}

/** Connections the server accepts; the tests check every replica's pool fits under it. */
export const MAX_CONNECTIONS = 200;

/**
 * One cluster per service database. initdb creates the database owned by the service's role
 * (the names `npm start` uses locally); CNPG generates the role's password and publishes the
 * connection string as `uri` in the Secret `<cluster>-app`. One instance here; the prod
 * overlay runs three (a primary and two streaming replicas).
 */
export function databaseClusterResource(service: string): CnpgClusterResource {
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: databaseCluster(service), labels: serviceLabels(service, 'database') },
    spec: {
      instances: 1,
      imageName: `ghcr.io/cloudnative-pg/postgresql:${SETTINGS.postgres.major}`,
      primaryUpdateStrategy: 'unsupervised',
      storage: { size: '1Gi' },
      bootstrap: { initdb: { database: databaseName(service), owner: databaseRole(service) } },
      postgresql: { parameters: { max_connections: String(MAX_CONNECTIONS) } },
    },
  };
}
