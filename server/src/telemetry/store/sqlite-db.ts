import Database from 'better-sqlite3';
import { EVENT_COLUMNS, eventValues, type SqlDb, type SqlRunner } from './db';

/** Waiting for another connection's write lock: retried this long, without blocking the event loop. */
const BUSY_WAIT_MS = 10_000;

const isBusy = (e: unknown) => (e as { code?: string })?.code === 'SQLITE_BUSY';

/**
 * Run a statement (or BEGIN) again while another connection holds the write lock. better-sqlite3
 * is synchronous: its own busy_timeout would block the event loop, and in one process it would
 * block the very connection that holds the lock, so the wait is asynchronous here instead.
 */
async function whileBusy<T>(fn: () => T): Promise<T> {
  const until = Date.now() + BUSY_WAIT_MS;
  for (let wait = 2; ; wait = Math.min(50, wait * 2)) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e) || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * SQLite through better-sqlite3 (synchronous, one connection). WAL mode so reads do not block the
 * writer; `synchronous = NORMAL` (durable at checkpoints, safe against corruption in WAL mode).
 * Every operation takes a turn on one promise chain, so a transaction's statements never
 * interleave with another caller's between its awaits. Several processes (or stores) may share a
 * file: a write waits for the other's transaction (BUSY_WAIT_MS at most).
 */
export function openSqlite(file: string): SqlDb {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 0');
  const cache = new Map<string, Database.Statement>();
  // Statements are prepared once; the SQL texts are the store's own, so the cache stays small.
  const prepare = (sql: string) => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const insertSql = `INSERT INTO telemetry_events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`;
  const all = <T>(sql: string, params: readonly unknown[] = []): T[] => {
    const st = prepare(sql);
    if (st.reader) return st.all(...params) as T[];
    st.run(...params);
    return [];
  };
  const change = (sql: string, params: readonly unknown[] = []): number => prepare(sql).run(...params).changes;
  const runner: SqlRunner = {
    query: async (sql, params) => all(sql, params),
    run: async (sql, params) => change(sql, params),
    async insertEvents(rows) {
      const insert = prepare(insertSql);
      for (const r of rows) insert.run(...eventValues(r));
    },
  };
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = turn.then(fn);
    turn = p.catch(() => {});
    return p;
  };
  let closed = false;
  const tx = <T>(fn: (t: SqlRunner) => Promise<T>): Promise<T> =>
    exclusive(async () => {
      await whileBusy(() => db.exec('BEGIN IMMEDIATE'));
      try {
        const out = await fn(runner);
        db.exec('COMMIT');
        return out;
      } catch (e) {
        db.exec('ROLLBACK');
        throw e;
      }
    });
  return {
    dialect: 'sqlite',
    query: (sql, params) => exclusive(() => whileBusy(() => all(sql, params))),
    run: (sql, params) => exclusive(() => whileBusy(() => change(sql, params))),
    insertEvents: (rows) => tx((t) => t.insertEvents(rows)),
    tx,
    close: () =>
      exclusive(async () => {
        if (closed) return;
        closed = true;
        db.close();
      }),
  };
}
