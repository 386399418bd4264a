import type { EventRow } from './row';

/** Statements run inside a transaction (or on their own). Placeholders are `?`, in order. */
export interface SqlRunner {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Insert raw events the fastest way the database has (a prepared statement per row, or one `unnest`). */
  insertEvents(rows: readonly EventRow[]): Promise<void>;
}

/**
 * The little that differs between SQLite and PostgreSQL; everything else (schema meaning, rollup
 * and read SQL) is written once in the store and the aggregates code.
 */
export interface SqlDb extends SqlRunner {
  readonly dialect: 'sqlite' | 'postgres';
  /** Run `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  tx<T>(fn: (t: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The columns of a raw event, in insert order. */
export const EVENT_COLUMNS = [
  'app', 'env', 'rel', 'user_id', 'session_id', 'type', 'name', 'ts', 'received_at', 'rate', 'props', 'page', 'status', 'val', 'bin', 'fp',
] as const;

export const eventValues = (r: EventRow): unknown[] => [
  r.app, r.env, r.release, r.userId, r.sessionId, r.type, r.name, r.ts, r.receivedAt, r.rate, r.props, r.page, r.status, r.value, r.bin, r.fp,
];
