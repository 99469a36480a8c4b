import type { Type } from '@nestjs/common';
import type { EventClass } from '@platform/contracts';
import type { AnyUseCase } from '@platform/messaging';
import type { SqlMigration } from '@platform/core';

export interface ServiceKitOptions {
  /** kebab-case service name: CloudEvents source, consumer-group prefix, default database. */
  readonly service: string;
  readonly defaultPort: number;
  /** TypeORM entities of the service's own tables. */
  readonly entities: readonly (new () => object)[];
  /**
   * The service's own migrations, as plain SQL like the libraries' (run by TypeORM, recorded in
   * its migrations table, ordered by the timestamp that starts each id); the messaging tables
   * are added by the kit.
   */
  readonly migrations: readonly SqlMigration[];
  /** Plain-SQL migrations of other libraries the service uses (e.g. the event store). */
  readonly libraryMigrations?: readonly SqlMigration[];
  /** Every event the service publishes; publishing anything else is refused. */
  readonly publishes: readonly EventClass[];
  /** Use-case classes, provided by the app module; each gets its own consumer group. */
  readonly useCases?: readonly Type<AnyUseCase>[];
}

/**
 * What a service declares about itself: name, port, what it publishes, which use cases it
 * runs. Kept in the app's `src/service.declaration.ts`, read by its AppModule and by the
 * deployment generator (topics, Kafka ACLs): the manifests follow the code.
 */
export type ServiceDeclaration = Pick<ServiceKitOptions, 'service' | 'defaultPort' | 'publishes' | 'useCases'>;
