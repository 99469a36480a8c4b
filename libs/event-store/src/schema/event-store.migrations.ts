import type { SqlMigration } from '@platform/core';
import { APPEND_FUNCTION_DOWN, APPEND_FUNCTION_UP } from './append-function.sql';
import { APPENDING_TRANSACTIONS_DOWN, APPENDING_TRANSACTIONS_UP } from './appending-transactions.sql';
import { LEAN_APPEND_DOWN, LEAN_APPEND_UP } from './lean-append.sql';
import { TABLES_DOWN, TABLES_UP } from './tables.sql';
import { CLOSED_BOOKS_DOWN, CLOSED_BOOKS_UP } from './closed-books.sql';

/**
 * The event store's schema, to run with the service's migrations (or applySqlMigrations in tests).
 * Applied migrations are never edited: a change is a new one.
 */
export const EVENT_STORE_MIGRATIONS: readonly SqlMigration[] = [
  { id: '1765000000000-event-store-tables', up: TABLES_UP, down: TABLES_DOWN },
  { id: '1765000000001-event-store-append-function', up: APPEND_FUNCTION_UP, down: APPEND_FUNCTION_DOWN },
  { id: '1765000000002-event-store-appending-transactions', up: APPENDING_TRANSACTIONS_UP, down: APPENDING_TRANSACTIONS_DOWN },
  { id: '1765000000003-event-store-lean-append', up: LEAN_APPEND_UP, down: LEAN_APPEND_DOWN },
  { id: '1765000000004-event-store-closed-books', up: CLOSED_BOOKS_UP, down: CLOSED_BOOKS_DOWN },
];
