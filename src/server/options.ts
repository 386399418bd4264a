import { bad, bool, fn, int, obj, str } from './validate';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/frames';
import type { Broker } from './brokers/types';
import { consoleLogger, silentLogger, type Logger } from './logger';
import type { TelemetryServerOptions } from './telemetry/options';

/** What hooks and RPC methods know about the connection asking. */
export interface ConnectionContext {
  /** App id from the `connect` frame. */
  app: string;
  /** User id (token `sub`), or `null` for an anonymous connection. */
  user: string | null;
  /** Device id of the connection, or `null`. */
  device: string | null;
  /** Server-assigned connection id. */
  client: string;
  /** All claims of the verified token (empty for anonymous connections). */
  claims: Record<string, unknown>;
}

/** An RPC method: receives the frame's `params`; its return value (or resolved value) is the reply's `result`. */
export type RpcMethod = (params: unknown, ctx: ConnectionContext) => unknown;

/** Options of {@link createServer}. Every field is optional except as noted. */
export interface ServerOptions {
  /** TCP port. Default `8080`; `0` picks a free port (read it back from `server.port`). */
  port?: number;
  /** Interface to listen on. Default `'127.0.0.1'` (use `'0.0.0.0'` to accept remote clients). */
  host?: string;
  /** HS256 secret that client JWTs are signed with. Required unless `dev` is on or `jwks` is given. */
  jwtSecret?: string;
  /** URL of a JWKS document to verify asymmetric JWTs (RS256, ES256, ...) instead of `jwtSecret`. Default none. */
  jwks?: string;
  /**
   * Server API key required as `Authorization: Bearer <key>` by `POST /notify`: one key, or one per
   * app id. Without it `/notify` answers 404 (disabled). Default none.
   */
  apiKey?: string | Record<string, string>;
  /** Allowed app ids; a connection or `/notify` for another app is refused (close 4101 / 403). Default: any app. */
  apps?: string[];
  /**
   * Development mode. Default `false`. Enables `POST /dev/token` (mints a JWT for any user — never
   * turn this on in production) and, without `jwtSecret`, signs with a random per-process secret.
   */
  dev?: boolean;
  /** Accept `connect` without a token (user `null`). Default `false` (a missing token is `unauthorized`). */
  allowAnonymous?: boolean;
  /** Interval between server pings, in ms. Default `25000`. A connection silent for twice this is closed with 4003. */
  pingInterval?: number;
  /** Time a connection has to send `refresh` after `expired`, in ms. Default `10000`; then it is closed with 4001. */
  tokenGrace?: number;
  /** Time a new connection has to send `connect`, in ms. Default `10000`; then it is closed with 4000. */
  handshakeTimeout?: number;
  /**
   * History kept per stream for recovery: `size` messages (default `1000`, `0` keeps none), `ttl` ms
   * (default `600000`), and at most `streams` streams with history across all apps (default
   * `100000`): beyond it the least recently published stream nobody is subscribed to is forgotten
   * (counted in `sdk_realtime_streams_evicted_total`; its next subscriber gets `recovered: false`).
   */
  history?: { size?: number; ttl?: number; streams?: number };
  /**
   * Largest frame accepted, in bytes. Default 1 MiB. Bigger frames are dropped with a `too_large`
   * error; frames over twice this close the connection with 1009 without being read.
   */
  maxFrameBytes?: number;
  /** Topics one connection may subscribe to (and, separately, watch). Default `100`; beyond: `too_many_subscriptions`. */
  maxSubscriptions?: number;
  /**
   * Bytes queued for one connection that its socket has not taken yet. Default 8 MiB (at least
   * `maxFrameBytes`). A client that falls further behind (a stalled link, a frozen tab) is closed
   * with 4005 instead of growing server memory; it reconnects and recovers from history.
   */
  maxBufferedBytes?: number;
  /**
   * Frames per connection: `frames` per `per` ms (token bucket). Default `{ frames: 100, per: 1000 }`.
   * Over the limit a frame is refused with `rate_limited`; refusing 5× `frames` within `per` closes with 4002.
   */
  rateLimit?: { frames?: number; per?: number };
  /** `POST /notify` requests per app: `requests` per `per` ms. Default `{ requests: 1000, per: 1000 }`; over: 429. */
  notifyRateLimit?: { requests?: number; per?: number };
  /** Largest `/notify` (and `/dev/token`) request body, in bytes. Default 1 MiB; over: 413. */
  maxBodyBytes?: number;
  /** Minimum time between two `count` frames for one topic, in ms. Default `1000`. The last change is always sent. */
  presenceInterval?: number;
  /**
   * May this connection subscribe to (or watch) `topic`? Default: `user:<id>…` topics only for that
   * user, `device:<id>…` only for that device, everything else allowed. Throwing answers `internal`.
   */
  canSubscribe?: (ctx: ConnectionContext, topic: string) => boolean | Promise<boolean>;
  /** May this connection publish `data` to `topic`? Default: deny (`forbidden`). Back ends publish with `/notify`. */
  canPublish?: (ctx: ConnectionContext, topic: string, data: unknown) => boolean | Promise<boolean>;
  /** RPC methods by name. Default none. Unknown names answer `method_not_found`; a throw answers `internal`. */
  methods?: Record<string, RpcMethod>;
  /** Directory whose files are served over HTTP `GET` (e.g. a built demo app). Default none. */
  serveStatic?: string;
  /** Serve the demo page at `/` and the client bundle at `/sdk-realtime.js`. Default `false`. */
  demo?: boolean;
  /** Log sink. Default console; `false` silences the server (tests). */
  logger?: Logger | false;
  /** Message broker. Default an in-memory broker (single process). */
  broker?: Broker;
  /**
   * Telemetry ingestion (`POST /api/telemetry/batch`, `GET /api/telemetry/config`, RPC
   * `telemetry.batch`); `{}` enables it with defaults (docs/telemetry.md). Default off.
   */
  telemetry?: TelemetryServerOptions | false;
}

/** {@link ServerOptions} with every default applied. */
export interface ResolvedOptions {
  port: number;
  host: string;
  jwtSecret: string | undefined;
  jwks: string | undefined;
  apiKey: string | Record<string, string> | undefined;
  apps: Set<string> | undefined;
  dev: boolean;
  allowAnonymous: boolean;
  pingInterval: number;
  tokenGrace: number;
  handshakeTimeout: number;
  history: { size: number; ttl: number; streams: number };
  maxFrameBytes: number;
  maxSubscriptions: number;
  maxBufferedBytes: number;
  rateLimit: { frames: number; per: number };
  notifyRateLimit: { requests: number; per: number };
  maxBodyBytes: number;
  presenceInterval: number;
  canSubscribe: (ctx: ConnectionContext, topic: string) => boolean | Promise<boolean>;
  canPublish: (ctx: ConnectionContext, topic: string, data: unknown) => boolean | Promise<boolean>;
  methods: Record<string, RpcMethod>;
  serveStatic: string | undefined;
  demo: boolean;
  logger: Logger;
  broker: Broker | undefined;
}

/** Whether `topic` is `prefix<id>` or starts with `prefix<id>:`. */
function ownedBy(topic: string, prefix: string, id: string | null): boolean {
  if (id === null) return false;
  const own = prefix + id;
  return topic === own || topic.startsWith(own + ':');
}

/** The default {@link ServerOptions.canSubscribe}: personal topics are private to their owner. */
export function defaultCanSubscribe(ctx: ConnectionContext, topic: string): boolean {
  if (topic.startsWith('user:')) return ownedBy(topic, 'user:', ctx.user);
  if (topic.startsWith('device:')) return ownedBy(topic, 'device:', ctx.device);
  return true;
}

const MAX_TIMER = 2 ** 31 - 1;

/** Apply defaults and validate; a bad option throws a TypeError naming it. */
export function resolveOptions(input: ServerOptions): ResolvedOptions {
  const o = obj('options', input) as ServerOptions;
  const dev = bool('dev', o.dev);
  const jwtSecret = str('jwtSecret', o.jwtSecret);
  const jwks = str('jwks', o.jwks);
  if (jwks !== undefined) {
    try {
      new URL(jwks);
    } catch {
      throw bad('jwks', 'a URL');
    }
  }
  if (!jwtSecret && !jwks && !dev) throw bad('jwtSecret', 'set (or `jwks`, or `dev: true`)');

  let apiKey: ResolvedOptions['apiKey'];
  if (typeof o.apiKey === 'object' && o.apiKey !== null && !Array.isArray(o.apiKey)) {
    for (const [app, key] of Object.entries(o.apiKey)) str(`apiKey.${app}`, key);
    apiKey = { ...o.apiKey };
  } else if (o.apiKey !== undefined) {
    if (typeof o.apiKey !== 'string' || o.apiKey.length === 0) throw bad('apiKey', 'a non-empty string or a map of app id to key');
    apiKey = o.apiKey;
  }

  let apps: Set<string> | undefined;
  if (o.apps !== undefined) {
    if (!Array.isArray(o.apps) || !o.apps.every((a) => typeof a === 'string' && a.length > 0)) {
      throw bad('apps', 'an array of non-empty strings');
    }
    apps = new Set(o.apps);
  }

  const history = obj('history', o.history);
  const rateLimit = obj('rateLimit', o.rateLimit);
  const notifyRateLimit = obj('notifyRateLimit', o.notifyRateLimit);
  const methods = obj('methods', o.methods);
  for (const [name, m] of Object.entries(methods)) fn(`methods.${name}`, m, undefined);

  let logger: Logger = consoleLogger;
  if (o.logger === false) logger = silentLogger;
  else if (o.logger !== undefined) {
    const l = o.logger as unknown as Record<string, unknown>;
    if (typeof l !== 'object' || l === null || !['info', 'warn', 'error'].every((k) => typeof l[k] === 'function')) {
      throw bad('logger', 'false or an object with info, warn and error methods');
    }
    logger = o.logger;
  }

  if (o.broker !== undefined) {
    const b = o.broker as unknown as Record<string, unknown>;
    if (typeof b !== 'object' || b === null || !['publish', 'subscribe', 'unsubscribe', 'history', 'close'].every((k) => typeof b[k] === 'function')) {
      throw bad('broker', 'a Broker (publish, subscribe, unsubscribe, history, close)');
    }
  }

  return {
    port: int('port', o.port, 8080, 0, 65535),
    host: str('host', o.host) ?? '127.0.0.1',
    jwtSecret,
    jwks,
    apiKey,
    apps,
    dev,
    allowAnonymous: bool('allowAnonymous', o.allowAnonymous),
    pingInterval: int('pingInterval', o.pingInterval, 25_000, 10, MAX_TIMER),
    tokenGrace: int('tokenGrace', o.tokenGrace, 10_000, 0, MAX_TIMER),
    handshakeTimeout: int('handshakeTimeout', o.handshakeTimeout, 10_000, 1, MAX_TIMER),
    history: {
      size: int('history.size', history.size, 1000, 0),
      ttl: int('history.ttl', history.ttl, 600_000, 1, MAX_TIMER),
      streams: int('history.streams', history.streams, 100_000, 1),
    },
    maxFrameBytes: int('maxFrameBytes', o.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 64, 256 * 1024 * 1024),
    maxSubscriptions: int('maxSubscriptions', o.maxSubscriptions, 100, 1),
    maxBufferedBytes: int('maxBufferedBytes', o.maxBufferedBytes, 8 * 1024 * 1024, 1024),
    rateLimit: {
      frames: int('rateLimit.frames', rateLimit.frames, 100, 1),
      per: int('rateLimit.per', rateLimit.per, 1000, 1),
    },
    notifyRateLimit: {
      requests: int('notifyRateLimit.requests', notifyRateLimit.requests, 1000, 1),
      per: int('notifyRateLimit.per', notifyRateLimit.per, 1000, 1),
    },
    maxBodyBytes: int('maxBodyBytes', o.maxBodyBytes, 1024 * 1024, 64),
    presenceInterval: int('presenceInterval', o.presenceInterval, 1000, 0, MAX_TIMER),
    canSubscribe: fn('canSubscribe', o.canSubscribe, defaultCanSubscribe),
    canPublish: fn('canPublish', o.canPublish, () => false),
    methods: methods as Record<string, RpcMethod>,
    serveStatic: str('serveStatic', o.serveStatic),
    demo: bool('demo', o.demo),
    logger,
    broker: o.broker,
  };
}
