import Database from 'better-sqlite3';
import { EVENT_COLUMNS, eventValues, type SqlDb, type SqlRunner } from './db';

/**
 * SQLite through better-sqlite3 (synchronous, one connection). WAL mode so reads do not block the
 * writer; `synchronous = NORMAL` (durable at checkpoints, safe against corruption in WAL mode).
 * Every operation takes a turn on one promise chain, so a transaction's statements never
 * interleave with another caller's between its awaits.
 */
export function openSqlite(file: string): SqlDb {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const cache = new Map<string, Database.Statement>();
  // Statements are prepared once; the SQL texts are the store's own, so the cache stays small.
  const prepare = (sql: string) => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const insertSql = `INSERT INTO telemetry_events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`;
  const runner: SqlRunner = {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const s = prepare(sql);
      return (s.reader ? s.all(...params) : (s.run(...params), [])) as T[];
    },
    async run(sql, params = []) {
      return prepare(sql).run(...params).changes;
    },
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
  return {
    dialect: 'sqlite',
    query: (sql, params) => exclusive(() => runner.query(sql, params)),
    run: (sql, params) => exclusive(() => runner.run(sql, params)),
    insertEvents: (rows) => exclusive(() => runner.insertEvents(rows)),
    tx: (fn) =>
      exclusive(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const out = await fn(runner);
          db.exec('COMMIT');
          return out;
        } catch (e) {
          db.exec('ROLLBACK');
          throw e;
        }
      }),
    close: () =>
      exclusive(async () => {
        if (closed) return;
        closed = true;
        db.close();
      }),
  };
}
