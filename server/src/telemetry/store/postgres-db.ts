import type { Pool, PoolClient } from 'pg';
import { EVENT_COLUMNS, eventValues, type SqlDb, type SqlRunner } from './db';
import type { EventRow } from './row';

/** `?` placeholders → `$1, $2, …` (the store's SQL has no `?` inside literals). */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

const TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'float8', 'text', 'text', 'int', 'float8', 'text', 'text'];
// One statement per batch: each column travels as one array parameter.
const INSERT = `INSERT INTO telemetry_events (${EVENT_COLUMNS.join(', ')}) SELECT * FROM unnest(${TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;

function columns(rows: readonly EventRow[]): unknown[][] {
  const cols: unknown[][] = EVENT_COLUMNS.map(() => new Array(rows.length));
  rows.forEach((r, i) => eventValues(r).forEach((v, c) => (cols[c]![i] = v)));
  return cols;
}

function runnerOf(c: Pool | PoolClient): SqlRunner {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      return (await c.query(numbered(sql), params as unknown[])).rows as T[];
    },
    async run(sql, params = []) {
      return (await c.query(numbered(sql), params as unknown[])).rowCount ?? 0;
    },
    async insertEvents(rows) {
      if (rows.length) await c.query(INSERT, columns(rows));
    },
  };
}

/** PostgreSQL through a `pg` pool: statements outside a transaction take any pooled connection. */
export function pgDb(pool: Pool, ownsPool: boolean): SqlDb {
  const direct = runnerOf(pool);
  let closed = false;
  return {
    dialect: 'postgres',
    ...direct,
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(runnerOf(client));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (ownsPool) await pool.end();
    },
  };
}
