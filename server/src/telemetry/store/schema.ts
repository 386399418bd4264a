/**
 * The tables of a SQL telemetry store, the same on SQLite and PostgreSQL but for the id column and
 * the floating-point type. Times are BIGINT ms since the epoch (UTC); a bucket is its start.
 * Aggregate tables are keyed (app, gran, bucket, env, rel, …): every read narrows by app first.
 */
export function schemaSql(dialect: 'sqlite' | 'postgres'): string[] {
  const id = dialect === 'sqlite' ? 'INTEGER PRIMARY KEY' : 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY';
  const real = dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  const agg = (name: string, columns: string, key: string) => [
    `CREATE TABLE IF NOT EXISTS ${name} (app TEXT NOT NULL, gran TEXT NOT NULL, bucket BIGINT NOT NULL, env TEXT NOT NULL, rel TEXT NOT NULL, ${columns}, PRIMARY KEY (app, gran, bucket, env, rel${key ? ', ' + key : ''}))`,
    // Rollups delete a bucket across apps; retention deletes by age.
    `CREATE INDEX IF NOT EXISTS ${name}_bucket ON ${name} (gran, bucket)`,
  ];
  return [
    `CREATE TABLE IF NOT EXISTS telemetry_events (id ${id}, app TEXT NOT NULL, env TEXT NOT NULL, rel TEXT NOT NULL, user_id TEXT, session_id TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL, ts BIGINT NOT NULL, received_at BIGINT NOT NULL, rate ${real} NOT NULL, props TEXT NOT NULL, page TEXT, status INTEGER, val ${real}, bin TEXT, fp TEXT)`,
    // Rollups scan a bucket's time range; retention deletes the oldest first; summaries read one app's window.
    'CREATE INDEX IF NOT EXISTS telemetry_events_ts ON telemetry_events (ts)',
    'CREATE INDEX IF NOT EXISTS telemetry_events_app_ts ON telemetry_events (app, ts)',
    'CREATE TABLE IF NOT EXISTS telemetry_dirty (gran TEXT NOT NULL, bucket BIGINT NOT NULL, PRIMARY KEY (gran, bucket))',
    'CREATE TABLE IF NOT EXISTS telemetry_fingerprints (app TEXT NOT NULL, fp TEXT NOT NULL, message TEXT NOT NULL, frame TEXT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, PRIMARY KEY (app, fp))',
    'CREATE INDEX IF NOT EXISTS telemetry_fingerprints_first ON telemetry_fingerprints (app, first_seen)',
    'CREATE TABLE IF NOT EXISTS telemetry_dimensions (app TEXT NOT NULL, env TEXT NOT NULL, rel TEXT NOT NULL, last_seen BIGINT NOT NULL, PRIMARY KEY (app, env, rel))',
    ...agg('telemetry_traffic', 'page TEXT NOT NULL, views BIGINT NOT NULL, users BIGINT NOT NULL, sessions BIGINT NOT NULL', 'page'),
    ...agg('telemetry_stay', 'page TEXT NOT NULL, hist TEXT NOT NULL', 'page'),
    ...agg('telemetry_api', 'route TEXT NOT NULL, status INTEGER NOT NULL, requests BIGINT NOT NULL, failures BIGINT NOT NULL, hist TEXT NOT NULL', 'route, status'),
    ...agg('telemetry_errors', 'fp TEXT NOT NULL, n BIGINT NOT NULL, users BIGINT NOT NULL', 'fp'),
    ...agg('telemetry_vitals', 'page TEXT NOT NULL, metric TEXT NOT NULL, hist TEXT NOT NULL', 'page, metric'),
    ...agg(
      'telemetry_totals',
      'events BIGINT NOT NULL, sessions BIGINT NOT NULL, views BIGINT NOT NULL, errors BIGINT NOT NULL, api_requests BIGINT NOT NULL, api_failures BIGINT NOT NULL, disconnects BIGINT NOT NULL, reconnects BIGINT NOT NULL, gaps BIGINT NOT NULL, api_hist TEXT NOT NULL, rtt_hist TEXT NOT NULL',
      '',
    ),
  ];
}

/** Aggregate tables, for rollup deletes and retention. */
export const AGGREGATE_TABLES = ['telemetry_traffic', 'telemetry_stay', 'telemetry_api', 'telemetry_errors', 'telemetry_vitals', 'telemetry_totals'] as const;
