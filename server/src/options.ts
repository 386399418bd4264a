import { bad, bool, fn, int, obj, str } from './validate';
import { DEFAULT_MAX_FRAME_BYTES } from 'sdk-realtime/protocol';
import type { Broker, BrokerFactory } from './brokers/types';
import { consoleLogger, silentLogger, type Logger } from './logger';
import { resolveSocketIoOptions, type ResolvedSocketIoOptions, type SocketIoOptions } from './socketio/options';
import type { TelemetryServerOptions } from './telemetry/options';
import type { FlagsServerOptions } from './flags/options';

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
   * It also changes two defaults so a first client works as written: `canPublish` becomes
   * {@link canPublishShared} (client publishes to every topic but personal streams), and `methods`
   * gains `time` (answers `{ now }`, the server clock in ms since the Unix epoch) unless you define it.
   */
  dev?: boolean;
  /**
   * Accept `connect` without a token (user `null`, device `null`). Default `false` (a missing
   * token is `unauthorized`). Anonymous connections own no personal stream.
   */
  allowAnonymous?: boolean;
  /** How tokens are verified beyond their signature (docs/security.md). */
  tokens?: TokenRules;
  /**
   * Which device a connection owns when the token has no `device` claim: called with the device id
   * the `connect` frame asks for; return it (or another id) to grant that `device:<id>` stream, or
   * `null` to grant none. Default: no hook, so only the token's `device` claim grants a device
   * stream, and an unverified `device` in `connect` is ignored. Never called for anonymous connections.
   */
  deviceOf?: (ctx: ConnectionContext, requested: string) => string | null | Promise<string | null>;
  /** Open WebSocket connections in all. Default `10000`; beyond: the new one is closed with 1013 (try again later). */
  maxConnections?: number;
  /** Open WebSocket connections per client IP. Default `100`; beyond: closed with 1013. */
  maxConnectionsPerIp?: number;
  /**
   * Take client IPs from the first `X-Forwarded-For` entry, for per-IP limits. Default `false`.
   * Turn on only behind a proxy you run that overwrites the header: anyone else can forge it.
   */
  trustProxy?: boolean;
  /**
   * Origins allowed to call `POST /notify` from a browser (CORS). Default none outside dev mode
   * (server-to-server: no CORS headers at all), `'*'` in dev mode for the demo page.
   */
  corsOrigins?: string[] | '*';
  /**
   * HTTP timeouts in ms: `headers` to receive request headers (default `10000`), `request` for the
   * whole request including its body (default `30000`), `keepAlive` idle time of a kept-alive
   * socket (default `5000`). WebSocket connections are not affected once upgraded.
   */
  httpTimeouts?: { headers?: number; request?: number; keepAlive?: number };
  /**
   * Failed API-key authentications per client IP (`/notify` and the flags admin API together):
   * `failures` per `per` ms. Default
   * `{ failures: 10, per: 60000 }`; beyond: 429 with `Retry-After` before the key is even checked.
   */
  authFailureLimit?: { failures?: number; per?: number };
  /** Interval between server pings, in ms. Default `25000`. A connection silent for twice this is closed with 4003. */
  pingInterval?: number;
  /** Time a connection has to send `refresh` after `expired`, in ms. Default `10000`; then it is closed with 4001. */
  tokenGrace?: number;
  /** Time a new connection has to send `connect`, in ms. Default `10000`; then it is closed with 4000. */
  handshakeTimeout?: number;
  /**
   * History kept per stream for recovery: `size` messages (default `1000`, `0` keeps none), `ttl` ms
   * (default `600000`), and at most `streams` streams with history per app (default `100000`).
   * Only a publish creates history (subscribing never does). Beyond `streams`, the least recently
   * published stream of that app nobody is subscribed to is forgotten (counted in
   * `sdk_realtime_streams_evicted_total`; its next subscriber gets `recovered: false`); other apps
   * are never touched.
   */
  history?: { size?: number; ttl?: number; streams?: number };
  /**
   * Largest frame accepted, in bytes. Default 1 MiB. Bigger frames are dropped with a `too_large`
   * error; frames over twice this close the connection with 1009 without being read.
   */
  maxFrameBytes?: number;
  /** Topics one connection may subscribe to (and, separately, watch, and publish to). Default `1000`; beyond: `too_many_subscriptions`. Also the most entries of one `subs` frame. */
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
   * May this connection subscribe to (or watch) `topic`? Default ({@link defaultCanSubscribe}):
   * `user:<id>` only for that user, `device:<id>` only for that device (exact match: the whole rest
   * of the name is the id), everything else allowed. Throwing answers `internal`.
   */
  canSubscribe?: (ctx: ConnectionContext, topic: string) => boolean | Promise<boolean>;
  /**
   * May this connection publish `data` to `topic`? Default: deny (`forbidden`); back ends publish
   * with `/notify`. In dev mode the default is {@link canPublishShared}. Throwing answers `internal`.
   */
  canPublish?: (ctx: ConnectionContext, topic: string, data: unknown) => boolean | Promise<boolean>;
  /**
   * RPC methods by name. Default none (in dev mode: `time`, see `dev`). Unknown names answer
   * `method_not_found`; a throw answers `internal`.
   */
  methods?: Record<string, RpcMethod>;
  /** Directory whose files are served over HTTP `GET` (e.g. a built demo app). Default none. */
  serveStatic?: string;
  /** Serve the demo page at `/` and the client bundle at `/sdk-realtime.js`. Default `false`. */
  demo?: boolean;
  /** Log sink. Default console; `false` silences the server (tests). */
  logger?: Logger | false;
  /**
   * Message broker: a {@link Broker}, or a factory the server calls with its `history` limits and
   * logger, such as `redisBroker({ url })` (several processes acting as one; docs/scaling.md).
   * Default an in-memory broker (single process).
   */
  broker?: Broker | BrokerFactory;
  /**
   * Telemetry ingestion (`POST /api/telemetry/batch`, `GET /api/telemetry/config`, RPC
   * `telemetry.batch`); `{}` enables it with defaults (docs/telemetry.md). Default off.
   */
  telemetry?: TelemetryServerOptions | false;
  /**
   * Feature flags and remote config (`GET /api/flags`, `GET /api/config/remote`, OFREP, the admin
   * API `PUT` / `DELETE /api/flags/:key`, live `$flags` stream); `{}` enables it with defaults
   * (docs/flags.md). Default off.
   */
  flags?: FlagsServerOptions | false;
  /**
   * Mount the socket.io server on the same port (path `/socket.io/`), speaking the socket.io
   * notification contract: namespaces `/<appId>`, events `subscribe`/`unsubscribe`/`subscribeCount`,
   * messages as `dataUpdate` (docs/socketio.md). `true` takes the defaults of {@link SocketIoOptions}.
   * Default `false` (off).
   */
  socketIo?: boolean | SocketIoOptions;
}

/** Rules for client tokens (`ServerOptions.tokens`). */
export interface TokenRules {
  /** Accepted `aud` values (one must match). Default none; required in JWKS mode unless `unscoped`. */
  audience?: string | string[];
  /** Accepted `iss` values. Default none; required in JWKS mode unless `unscoped`. */
  issuer?: string | string[];
  /** Accepted `alg` values. Default `['HS256']` with `jwtSecret`, `['RS256', 'PS256', 'ES256', 'EdDSA']` with `jwks`. */
  algorithms?: string[];
  /** Refuse tokens without `exp`. Default `true`; `false` lets a token without `exp` live forever (or until `maxAge`). */
  requireExp?: boolean;
  /** Refuse tokens issued (`iat`) more than this many seconds ago, and tokens without `iat`. Default none. */
  maxAge?: number;
  /**
   * Accept a token without an `app` claim on every app. Default `false`: such a token is refused
   * (4101), except when `apps` lists exactly one app, where there is nothing to confuse it with.
   */
  anyApp?: boolean;
  /** Start JWKS mode without `audience` and `issuer` (every token of the identity provider is accepted). Default `false`. */
  unscoped?: boolean;
}

/** {@link TokenRules} with defaults applied. */
export interface ResolvedTokenRules {
  audience: string[] | undefined;
  issuer: string[] | undefined;
  algorithms: string[];
  requireExp: boolean;
  maxAge: number | undefined;
  anyApp: boolean;
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
  tokens: ResolvedTokenRules;
  deviceOf: ((ctx: ConnectionContext, requested: string) => string | null | Promise<string | null>) | undefined;
  maxConnections: number;
  maxConnectionsPerIp: number;
  trustProxy: boolean;
  corsOrigins: string[] | '*' | undefined;
  httpTimeouts: { headers: number; request: number; keepAlive: number };
  authFailureLimit: { failures: number; per: number };
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
  broker: Broker | BrokerFactory | undefined;
  socketIo: ResolvedSocketIoOptions | undefined;
}

/**
 * The default {@link ServerOptions.canSubscribe}: a topic starting with `user:` or `device:` is the
 * personal stream of exactly the id that follows the prefix (`user:alice:bob` belongs to user
 * `alice:bob`, never to `alice`), so any id, whatever characters it holds, names one owner.
 * Everything else is allowed.
 */
export function defaultCanSubscribe(ctx: ConnectionContext, topic: string): boolean {
  if (topic.startsWith('user:')) return ctx.user !== null && topic === 'user:' + ctx.user;
  if (topic.startsWith('device:')) return ctx.device !== null && topic === 'device:' + ctx.device;
  return true;
}

/**
 * A {@link ServerOptions.canPublish} that lets clients publish to every shared topic and never to a
 * personal stream (`user:…`, `device:…`: only back ends write those, with `/notify`). The default in
 * dev mode; CLI `--allow-publish` outside it.
 */
export function canPublishShared(_ctx: ConnectionContext, topic: string): boolean {
  return !topic.startsWith('user:') && !topic.startsWith('device:');
}

/** The dev-mode RPC method `time`: the server clock, `{ now }` in ms since the Unix epoch. */
const devTime: RpcMethod = () => ({ now: Date.now() });

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

  const tokens = resolveTokenRules(o.tokens, { jwks: jwks !== undefined && jwtSecret === undefined, apps });
  let corsOrigins: ResolvedOptions['corsOrigins'] = dev ? '*' : undefined;
  if (o.corsOrigins !== undefined) {
    if (o.corsOrigins !== '*' && !(Array.isArray(o.corsOrigins) && o.corsOrigins.every((x) => typeof x === 'string' && x.length > 0))) {
      throw bad('corsOrigins', "'*' or an array of origins");
    }
    corsOrigins = o.corsOrigins === '*' ? '*' : [...o.corsOrigins];
  }
  const httpTimeouts = obj('httpTimeouts', o.httpTimeouts);
  if (typeof httpTimeouts.headers === 'number' && typeof httpTimeouts.request === 'number' && httpTimeouts.headers > httpTimeouts.request) {
    throw bad('httpTimeouts.headers', 'at most httpTimeouts.request');
  }
  const authFailureLimit = obj('authFailureLimit', o.authFailureLimit);
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

  if (o.broker !== undefined && typeof o.broker !== 'function') {
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
    tokens,
    deviceOf: fn('deviceOf', o.deviceOf, undefined),
    maxConnections: int('maxConnections', o.maxConnections, 10_000, 1),
    maxConnectionsPerIp: int('maxConnectionsPerIp', o.maxConnectionsPerIp, 100, 1),
    trustProxy: bool('trustProxy', o.trustProxy),
    corsOrigins,
    httpTimeouts: {
      headers: int('httpTimeouts.headers', httpTimeouts.headers, 10_000, 1, MAX_TIMER),
      request: int('httpTimeouts.request', httpTimeouts.request, 30_000, 1, MAX_TIMER),
      keepAlive: int('httpTimeouts.keepAlive', httpTimeouts.keepAlive, 5_000, 1, MAX_TIMER),
    },
    authFailureLimit: {
      failures: int('authFailureLimit.failures', authFailureLimit.failures, 10, 1),
      per: int('authFailureLimit.per', authFailureLimit.per, 60_000, 1),
    },
    pingInterval: int('pingInterval', o.pingInterval, 25_000, 10, MAX_TIMER),
    tokenGrace: int('tokenGrace', o.tokenGrace, 10_000, 0, MAX_TIMER),
    handshakeTimeout: int('handshakeTimeout', o.handshakeTimeout, 10_000, 1, MAX_TIMER),
    history: {
      size: int('history.size', history.size, 1000, 0),
      ttl: int('history.ttl', history.ttl, 600_000, 1, MAX_TIMER),
      streams: int('history.streams', history.streams, 100_000, 1),
    },
    maxFrameBytes: int('maxFrameBytes', o.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 64, 256 * 1024 * 1024),
    maxSubscriptions: int('maxSubscriptions', o.maxSubscriptions, 1000, 1),
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
    canPublish: fn('canPublish', o.canPublish, dev ? canPublishShared : () => false),
    methods: (dev ? { time: devTime, ...methods } : methods) as Record<string, RpcMethod>,
    serveStatic: str('serveStatic', o.serveStatic),
    demo: bool('demo', o.demo),
    logger,
    broker: o.broker,
    socketIo: resolveSocketIoOptions(o.socketIo),
  };
}

const JWKS_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];

function strings(name: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x.length > 0)) {
    throw bad(name, 'a non-empty string or a non-empty array of them');
  }
  return [...list] as string[];
}

function resolveTokenRules(input: unknown, mode: { jwks: boolean; apps: Set<string> | undefined }): ResolvedTokenRules {
  const t = obj('tokens', input) as TokenRules;
  const audience = strings('tokens.audience', t.audience);
  const issuer = strings('tokens.issuer', t.issuer);
  const unscoped = bool('tokens.unscoped', t.unscoped);
  if (mode.jwks && !audience && !issuer && !unscoped) {
    throw bad('tokens.audience', 'set with `jwks` (or `tokens.issuer`, or `tokens.unscoped: true` to accept every token of the identity provider)');
  }
  const algorithms = strings('tokens.algorithms', t.algorithms) ?? (mode.jwks ? JWKS_ALGORITHMS : ['HS256']);
  if (algorithms.includes('none')) throw bad('tokens.algorithms', 'a list without "none"');
  const requireExp = t.requireExp === undefined ? true : bool('tokens.requireExp', t.requireExp);
  const maxAge = t.maxAge === undefined ? undefined : int('tokens.maxAge', t.maxAge, 0, 1);
  const anyApp = bool('tokens.anyApp', t.anyApp) || mode.apps?.size === 1;
  return { audience, issuer, algorithms, requireExp, maxAge, anyApp };
}
