import type { FlagInput } from './definitions';
import type { RedisFlagsOptions } from './redis';

/** The `flags` option of `createServer` (docs/flags.md). */
export interface FlagsServerOptions {
  /**
   * A JSON file of definitions (`[...]` or `{ "flags": [...] }`), read at start (a bad file throws),
   * watched and reloaded atomically on change (a bad edit keeps the last good set and is logged).
   * Admin API writes are written back to it. Default: none (definitions live in memory).
   */
  file?: string;
  /**
   * Keep definitions in Redis instead, shared by every node (give it with the Redis broker):
   * admin writes on any node reach every node's connections. Default: none.
   */
  redis?: RedisFlagsOptions;
  /** Definitions to start with when there is no `file`. Default `[]`. */
  definitions?: FlagInput[];
  /** The environment rules' `if.env` is matched against. Default `process.env.NODE_ENV` or `"production"`. */
  env?: string;
  /**
   * Extra remote config served by `GET /api/config/remote` beside the connection settings and the
   * `config.*` flags (e.g. `{ telemetry: { sampleRate: 0.1 } }`). Default `{}`.
   */
  remoteConfig?: Record<string, unknown>;
  /** The clock for `startAt` / `endAt`, in ms since the Unix epoch. Default `Date.now`. */
  now?: () => number;
}
