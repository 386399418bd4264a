import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openSqlite } from './sqlite-db';
import { resolveSqlStoreOptions, sqlStore, type SqlStoreOptions } from './sql-store';
import type { TelemetryStore } from './types';

export interface SqliteStoreOptions extends SqlStoreOptions {
  /** The database file (its directory is created if missing); `':memory:'` for a throwaway store. Required. */
  file: string;
}

/**
 * The embedded store: one SQLite file (WAL mode) through better-sqlite3, for one server node.
 * Raw events kept `retentionDays` (30), hour/day aggregates `aggregateRetentionDays` (400).
 * A bad option throws a TypeError naming it (`sqliteStore.file`).
 */
export function sqliteStore(options: SqliteStoreOptions): TelemetryStore {
  if (typeof options !== 'object' || options === null) throw new TypeError('sdk-realtime server: option "sqliteStore" must be an object');
  const { file } = options;
  if (typeof file !== 'string' || !file) throw new TypeError('sdk-realtime server: option "sqliteStore.file" must be a non-empty string');
  const o = resolveSqlStoreOptions('sqliteStore', options);
  return sqlStore(
    async () => {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      return openSqlite(file);
    },
    o,
    `sqlite ${file}`,
  );
}
