import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenAuthority } from '../auth';
import type { Logger } from '../logger';
import { flagDefinition, firstIssue, type FlagDefinition } from './definitions';
import { FlagsLive } from './live';
import type { FlagsServerOptions } from './options';
import type { ApiKeyGate } from '../api-key';
import { createFlagRoutes } from './routes';
import { RedisFlagSync } from './redis';
import { FlagStore } from './store';

export { FLAGS_TOPIC, FlagsLive, type FlagsMessage, type FlagsSink } from './live';
export { isFlagsPath } from './routes';
export type { FlagsServerOptions } from './options';
export type { FlagInput, FlagDefinition } from './definitions';
export type { FlagResult, FlagReason, FlagContext } from './evaluate';

/** The flags part of a server: definitions, live push, HTTP routes. */
export interface FlagsService {
  store: FlagStore;
  live: FlagsLive;
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
  /** The `telemetry` part of the caller's remote config (its token's evaluation, else anonymous): what `GET /api/telemetry/config` adds. */
  telemetryConfig(req: IncomingMessage): Promise<unknown>;
  /** Resolves once the definitions are loaded (from Redis, when used). */
  ready: Promise<void>;
  close(): void;
}

export interface FlagsDeps {
  auth: TokenAuthority;
  apiKeys: ApiKeyGate;
  maxBodyBytes: number;
  logger: Logger;
  /** Connection settings reported by `GET /api/config/remote`. */
  connection: Record<string, unknown>;
  /** The server's `corsOrigins`: a list limits the browser routes to it; otherwise any origin. */
  corsOrigins?: string[] | '*';
  /** The server's `apps` allow-list and `tokens.anyApp`: the HTTP routes bind a token's app as `connect` does. */
  apps?: Set<string>;
  anyApp: boolean;
}

/** Build the flags service from the `flags` option; a bad option or flags file throws a TypeError naming it. */
export function createFlagsService(options: FlagsServerOptions, deps: FlagsDeps): FlagsService {
  if (options === null || typeof options !== 'object') throw new TypeError('flags: must be an object');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('flags.now: must be a function');
  const env = options.env ?? process.env.NODE_ENV ?? 'production';
  if (typeof env !== 'string' || env === '') throw new TypeError('flags.env: must be a non-empty string');
  const initial: FlagDefinition[] = (options.definitions ?? []).map((d, i) => {
    const parsed = flagDefinition.safeParse(d);
    if (!parsed.success) throw new TypeError(`flags.definitions: ${firstIssue(parsed.error, String(i)).message}`);
    return parsed.data;
  });
  let store: FlagStore;
  try {
    store = new FlagStore(options.file, deps.logger, now, initial);
  } catch (e) {
    throw new TypeError(`flags.file: ${(e as Error).message}`);
  }
  if (options.file && options.redis) throw new TypeError('flags: give file or redis, not both');
  const live = new FlagsLive(store, env, now);
  const ready = options.redis
    ? store.useRedis(new RedisFlagSync(options.redis, deps.logger, { flag: (key, flag) => store.applyRemote(key, flag), reload: (all) => store.replaceRemote(all) }))
    : Promise.resolve();
  const handle = createFlagRoutes({
    store,
    auth: deps.auth,
    apiKeys: deps.apiKeys,
    env,
    now,
    maxBodyBytes: deps.maxBodyBytes,
    ...(Array.isArray(deps.corsOrigins) ? { corsOrigins: deps.corsOrigins } : {}),
    ...(deps.apps ? { apps: deps.apps } : {}),
    anyApp: deps.anyApp,
    remoteConfig: { connection: deps.connection, ...(options.remoteConfig ?? {}) },
  });
  return {
    store,
    live,
    handle,
    telemetryConfig: handle.telemetryConfig,
    ready,
    close: () => {
      live.close();
      store.close();
    },
  };
}
