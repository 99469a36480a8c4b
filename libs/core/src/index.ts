export * from './sql-client';
export * from './sql-migration';
export * from './logger';
