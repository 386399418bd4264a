import type { Pool } from 'pg';
import { pgDb } from './postgres-db';
import { resolveSqlStoreOptions, sqlStore, type SqlStoreOptions } from './sql-store';
import type { TelemetryStore } from './types';

export interface PostgresStoreOptions extends SqlStoreOptions {
  /** `postgres://user:pass@host:5432/db`. One of `connectionString` or `pool` is required. */
  connectionString?: string;
  /** A `pg` Pool you own (not ended by `close()`). */
  pool?: Pool;
  /** Connections of the pool made from `connectionString`. Default `4`. */
  poolSize?: number;
}

/**
 * The store for several server nodes: every node writes to and rolls up in one PostgreSQL
 * database (rollups of one bucket by two nodes do not collide: the first takes its dirty mark).
 * `pg` is an optional peer dependency, loaded only here. A bad option throws a TypeError naming it.
 */
export function postgresStore(options: PostgresStoreOptions): TelemetryStore {
  const bad = (name: string, what: string) => new TypeError(`sdk-realtime server: option "postgresStore${name ? '.' + name : ''}" must be ${what}`);
  if (typeof options !== 'object' || options === null) throw bad('', 'an object');
  const { connectionString, pool, poolSize } = options;
  if (connectionString !== undefined && (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(connectionString))) {
    throw bad('connectionString', 'a postgres:// URL');
  }
  if (pool !== undefined && (typeof pool !== 'object' || pool === null || typeof (pool as Pool).connect !== 'function')) throw bad('pool', 'a pg Pool');
  if ((connectionString === undefined) === (pool === undefined)) throw bad('connectionString', 'given, or else pool (exactly one of them)');
  if (poolSize !== undefined && !(Number.isInteger(poolSize) && poolSize >= 1 && poolSize <= 100)) throw bad('poolSize', 'an integer between 1 and 100');
  const o = resolveSqlStoreOptions('postgresStore', options);
  return sqlStore(
    async () => {
      if (pool) return pgDb(pool, false);
      const pg = await import('pg').catch(() => {
        throw new Error('postgresStore needs the "pg" package: npm install pg');
      });
      const Pool = pg.default?.Pool ?? (pg as unknown as { Pool: typeof import('pg').Pool }).Pool;
      const own = new Pool({ connectionString, max: poolSize ?? 4 });
      own.on('error', (e: Error) => o.logger.error('telemetry postgres: idle connection failed', e));
      return pgDb(own, true);
    },
    o,
    'postgres',
  );
}
