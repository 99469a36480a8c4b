import { type SqlClient } from '@platform/core';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export interface Transaction {
  /** TypeORM, for the service's entities. */
  readonly manager: EntityManager;
  /** The same connection and transaction as plain SQL: hand it to publish() and the event store. */
  readonly sql: SqlClient;
}

/** One database transaction giving both TypeORM and the libraries the same connection. */
@Injectable()
export class Transactions {
  constructor(private readonly dataSource: DataSource) {}

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      if (!manager.queryRunner) throw new Error('TypeORM transaction without a query runner');
      // connect() returns the pg client the transaction runs on (already connected here).
      const sql = (await manager.queryRunner.connect()) as SqlClient;
      return work({ manager, sql });
    });
  }
}
