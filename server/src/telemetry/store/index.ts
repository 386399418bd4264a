export { sqliteStore, type SqliteStoreOptions } from './sqlite';
export { postgresStore, type PostgresStoreOptions } from './postgres';
export { otlpExporter, type OtlpExporterOptions } from './otlp';
export { teeSink } from './tee';
export type { SqlStoreOptions } from './sql-store';
export { StoreBusyError, type StoreStats, type TelemetryStore } from './types';
