import { afterAll, beforeAll } from 'vitest';
import { findPostgres, startPostgresServer } from '../../scripts/local-postgres.mjs';

/** A real PostgreSQL server on 127.0.0.1 for one test file (Debian's `postgresql`; .ci/run installs it). */
export interface TestPostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  url: string;
  stop(): Promise<void>;
}

/** Under CI (`CI` set) a missing PostgreSQL fails the file; elsewhere its tests are skipped. */
export function postgresRequired(): boolean {
  const ci = process.env.CI;
  return !!ci && ci !== '0' && ci !== 'false';
}

/** Whether PostgreSQL tests run: installed, or required (then a missing one fails beforeAll). */
export const postgresAvailable = (): boolean => findPostgres() !== undefined || postgresRequired();

/** Start PostgreSQL on a free port (as the `postgres` user when we are root: it refuses root). */
export const startPostgres = (): Promise<TestPostgres> => startPostgresServer();

/**
 * One PostgreSQL server for the whole test file: started before its tests, stopped after them.
 * The getter returns `undefined` when PostgreSQL is not installed outside CI (the caller skips).
 */
export function postgresForFile(): () => TestPostgres | undefined {
  let pg: TestPostgres | undefined;
  beforeAll(async () => {
    if (!postgresAvailable()) return;
    pg = await startPostgres();
  }, 30_000);
  afterAll(async () => {
    await pg?.stop();
  });
  return () => pg;
}
