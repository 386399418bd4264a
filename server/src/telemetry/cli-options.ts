import { readFileSync } from 'node:fs';
import type { AlertsOptions } from './alerts/options';
import { fileSink } from './sink';
import { otlpExporter } from './store/otlp';
import { postgresStore } from './store/postgres';
import { sqliteStore } from './store/sqlite';
import { teeSink } from './store/tee';
import type { TelemetryServerOptions } from './options';
import type { TelemetrySink } from './sink';

/** Where `npm start` (`serve --dev`) keeps telemetry when no telemetry flag is given. */
export const DEV_TELEMETRY_FILE = './.sdk-realtime/telemetry.db';

export interface TelemetryFlags {
  sqlite?: string;
  postgres?: string;
  dir?: string;
  otlp?: string;
  retentionDays?: number;
  /** Alert rules file (`{ "rules": [...] }`, docs/telemetry-alerts.md), read once at start. */
  alerts?: string;
  off: boolean;
}

/** The alerts option from a JSON file; a file that cannot be read or parsed is a TypeError naming it. */
function readAlerts(file: string): AlertsOptions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TypeError(`--alerts ${file}: cannot read it (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text) as AlertsOptions;
  } catch (e) {
    throw new TypeError(`--alerts ${file}: not JSON (${(e as Error).message})`);
  }
}

/**
 * The `telemetry` option from the CLI's flags, or `undefined` for no telemetry. In dev mode
 * without any telemetry flag: SQLite at DEV_TELEMETRY_FILE, rolled up every 10 s, so a first page
 * view shows in the aggregates within a minute.
 */
export function telemetryFromFlags(f: TelemetryFlags, dev: boolean): { options: TelemetryServerOptions; describe: string } | undefined {
  if (f.sqlite && f.postgres) throw new TypeError('--telemetry-sqlite and --telemetry-postgres: pick one store');
  const any = f.sqlite || f.postgres || f.dir || f.otlp;
  if (f.off || (!any && !dev)) return undefined;
  const sqlite = f.sqlite ?? (!any ? DEV_TELEMETRY_FILE : undefined);
  const common = { retentionDays: f.retentionDays, rollupInterval: dev ? 10_000 : undefined };
  const store = sqlite ? sqliteStore({ file: sqlite, ...common }) : f.postgres ? postgresStore({ connectionString: f.postgres, ...common }) : undefined;
  const sinks: TelemetrySink[] = [];
  if (f.dir) sinks.push(fileSink({ dir: f.dir }));
  if (f.otlp) sinks.push(otlpExporter({ url: f.otlp }));
  const what = [sqlite ? `SQLite ${sqlite}` : f.postgres ? `PostgreSQL ${f.postgres.replace(/\/\/[^@/]*@/, '//…@')}` : '', f.dir ? `NDJSON in ${f.dir}` : '', f.otlp ? `OTLP ${f.otlp}` : '']
    .filter(Boolean)
    .join(' + ');
  if (f.alerts && !store) throw new TypeError('--alerts needs a telemetry store (--telemetry-sqlite or --telemetry-postgres, or --dev)');
  return {
    options: {
      store,
      sink: sinks.length === 0 ? undefined : sinks.length === 1 ? sinks[0] : teeSink(...sinks),
      // With a store there are aggregates to show: the dashboard is on (open in dev mode, else behind the API key).
      dashboard: store ? true : undefined,
      alerts: f.alerts ? readAlerts(f.alerts) : undefined,
    },
    describe: what,
  };
}
