import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { CloseCode, encodeFrame } from 'sdk-realtime/protocol';
import { TokenAuthority } from './auth';
import { MemoryBroker } from './brokers/memory';
import type { Broker, PublishOptions } from './brokers/types';
import { CLOSE_GRACE_MS, Connection, type ServerCore } from './connection';
import { clientIp } from './http-util';
import { createDevTokenHandler } from './dev-token';
import { createRouter } from './http';
import { fingerprintOf } from './idempotency';
import { Metrics } from './metrics';
import { ApiKeyGate } from './api-key';
import { createNotifyHandler } from './notify';
import { resolveOptions, type ServerOptions } from './options';
import { Presence } from './presence';
import { publishTo, type PublishReceipt, type PublishTarget } from './publish';
import { mountSocketIo, type SocketIoBridge } from './socketio/bridge';
import { createTelemetryIngest } from './telemetry/index';
import { storeMetrics } from './telemetry/store/metrics';
import { createFlagsService } from './flags/index';
import { createAlertsService, type AlertsService } from './telemetry/alerts/index';
import { createDashboard, TelemetryLive } from './telemetry/dashboard/index';

export type { ServerOptions, ConnectionContext, RpcMethod, TokenRules } from './options';
export type { SocketIoOptions } from './socketio/options';

/** WebSocket close code 1013 ("try again later"): the server is at `maxConnections` or `maxConnectionsPerIp`. */
const TRY_AGAIN_LATER = 1013;
export { canPublishShared, defaultCanSubscribe } from './options';
export type { Logger } from './logger';
export type { Broker, Delivery, PublishOutcome, StreamOffset, Subscriber } from './brokers/types';
export { MemoryBroker, type MemoryBrokerOptions } from './brokers/memory';
export { RedisBroker, redisBroker, type RedisBrokerOptions, type RedisBrokerStats } from './brokers/redis';
export {
  BrokerUnavailableError,
  IDEMPOTENCY_TTL,
  IdempotencyConflictError,
  type BrokerEnvironment,
  type BrokerFactory,
  type PublishOptions,
} from './brokers/types';
export { PayloadTooLargeError, type PublishReceipt, type PublishTarget } from './publish';
export { RpcError } from './errors';
export { FLAGS_TOPIC, type FlagsServerOptions, type FlagInput, type FlagResult, type FlagsMessage } from './flags/index';
export { fileSink, type FileSinkOptions, type StoredEvent, type TelemetryServerOptions, type TelemetrySink } from './telemetry/index';
export {
  otlpExporter,
  postgresStore,
  sqliteStore,
  teeSink,
  StoreBusyError,
  type OtlpExporterOptions,
  type PostgresStoreOptions,
  type SqliteStoreOptions,
  type SqlStoreOptions,
  type StoreStats,
  type TelemetryStore,
} from './telemetry/store/index';
export type {
  AggregateFilter,
  AggregateReader,
  ApiRow,
  ErrorRow,
  Granularity,
  Percentiles,
  RealtimeRow,
  StayRow,
  TrafficRow,
  VitalRow,
  WindowSummary,
} from './telemetry/aggregates/types';
export type { Alert, AlertState, AlertsOptions, AlertRule, AlertRuleInput, AlertMetric, RuleStatus, Silence, SilenceInput, Webhook, WebhookFormat } from './telemetry/alerts/index';
export { TELEMETRY_TOPIC, type DashboardOptions, type TelemetryLiveMessage } from './telemetry/dashboard/index';

/** Counts of what the server currently holds, for tests and dashboards. */
export interface ServerStats {
  /** Open connections that completed `connect` (socket.io sockets included when the bridge is on). */
  connections: number;
  /** Topic subscriptions (`sub`) across connections; personal streams not included. */
  subscriptions: number;
  /** Watched topics (`watch`) across connections. */
  watches: number;
}

/** A running reference server. */
export interface RealtimeServer {
  /** WebSocket URL, `ws://host:port/ws`. */
  readonly url: string;
  /** HTTP base URL, `http://host:port`. */
  readonly httpUrl: string;
  readonly port: number;
  /**
   * Publish from the same process, exactly like `POST /notify` (no API key, no rate limit):
   * every connection of each user, each device and every subscriber of each topic gets the message once.
   * With `idempotencyKey`, a retry with the same key and target is applied once (on every node,
   * for 5 minutes); the same key with another target rejects with `IdempotencyConflictError`.
   */
  publish(appId: string, target: PublishTarget, options?: { idempotencyKey?: string }): Promise<PublishReceipt>;
  stats(): ServerStats;
  /**
   * Tell the open dashboards of `app` that its aggregates changed: publishes `{ type: 'aggregates',
   * app, at }` on the `$telemetry` topic, at most once a second per app (the last change always
   * sent). A telemetry store's rollup calls it after writing buckets. Does nothing without `telemetry`.
   */
  aggregatesUpdated(app: string): void;
  /** Send every client a `close` frame (4004, reconnect) and stop. Idempotent. */
  close(): Promise<void>;
}

/** Start the reference server; resolves once it listens. A bad option throws a TypeError naming it. */
export async function createServer(options: ServerOptions): Promise<RealtimeServer> {
  const o = resolveOptions(options);
  const log = o.logger;
  const metrics = new Metrics();
  const broker: Broker = createBroker(o.broker);
  function createBroker(given: typeof o.broker): Broker {
    if (typeof given === 'function') return given({ history: o.history, logger: log });
    if (given) return given;
    return new MemoryBroker({
      history: o.history,
      onError: (e) => log.error('delivery failed', e),
      onEvict: () => {
        if (metrics.streamsEvicted++ === 0) log.warn('history.streams bound reached: forgetting the least recently published streams');
      },
    });
  }
  const auth = new TokenAuthority({ jwtSecret: o.jwtSecret, jwks: o.jwks, dev: o.dev, rules: o.tokens });
  // One API key check for /notify, the flags admin API and the telemetry aggregates: failed attempts count across them.
  const apiKeys = new ApiKeyGate(o.apiKey, o.authFailureLimit, o.trustProxy);
  const telemetry = options.telemetry
    ? createTelemetryIngest(options.telemetry, {
        apps: o.apps,
        logger: log,
        verify: (t) => auth.verify(t),
        trustProxy: o.trustProxy,
        apiKeys,
        apiKey: o.apiKey,
        dev: o.dev,
        aggregatesUpdated: (app) => telemetryLive?.aggregatesUpdated(app),
        // Flags are made below; this runs per request, after start-up.
        remoteConfig: (req) => flags?.telemetryConfig(req),
      })
    : undefined;
  metrics.extra = () => ({ ...(broker.metrics?.() ?? {}), ...storeMetrics(telemetry?.store) });
  if (telemetry?.rpc && !Object.prototype.hasOwnProperty.call(o.methods, 'telemetry.batch')) {
    o.methods = { ...o.methods, 'telemetry.batch': telemetry.rpc };
  }
  const flags = options.flags
    ? createFlagsService(options.flags, {
        auth,
        apiKeys,
        maxBodyBytes: o.maxBodyBytes,
        logger: log,
        connection: { pingInterval: o.pingInterval, maxFrameBytes: o.maxFrameBytes },
        corsOrigins: o.corsOrigins,
        apps: o.apps,
        anyApp: o.tokens.anyApp,
      })
    : undefined;
  await flags?.ready.catch((e: unknown) => {
    flags.close();
    throw e;
  });
  const presence = new Presence(o.presenceInterval, Date.now, broker.presence);
  const publish = (app: string, target: PublishTarget, options?: PublishOptions): Promise<PublishReceipt> =>
    publishTo(broker, metrics, app, target, o.maxFrameBytes, options);
  // Dashboards hear of new aggregates and alerts on `$telemetry` (telemetry/dashboard/live.ts).
  const telemetryLive = options.telemetry ? new TelemetryLive(publish, log) : undefined;
  const t = options.telemetry || undefined;
  // Alerts read a store's aggregates unless another reader is given.
  const reader = t?.aggregates ?? telemetry?.store;
  let alerts: AlertsService | undefined;
  let dashboard: ReturnType<typeof createDashboard> | undefined;
  try {
    if (t?.alerts && !reader) {
      throw new TypeError('sdk-realtime server: option "telemetry.alerts" needs "telemetry.store" (or "telemetry.aggregates", an AggregateReader)');
    }
    if (t?.alerts && reader) {
      alerts = createAlertsService(t.alerts, { reader, apiKeys, apiKey: o.apiKey, maxBodyBytes: o.maxBodyBytes, logger: log, onAlert: (a) => telemetryLive?.alert(a) });
    }
    if (t?.dashboard) dashboard = createDashboard(t.dashboard, { dev: o.dev, auth, apiKeys, apiKey: o.apiKey, apps: o.apps, maxBodyBytes: o.maxBodyBytes });
  } catch (e) {
    flags?.close();
    throw e;
  }
  const core: ServerCore = {
    options: o,
    broker,
    presence,
    metrics,
    auth,
    flags: flags?.live,
    publish,
  };

  if (o.dev) {
    log.warn('DEVELOPMENT MODE: POST /dev/token mints tokens for anyone. Never run this in production.');
    if (!o.jwtSecret && !o.jwks) log.warn('DEVELOPMENT MODE: no jwtSecret given; signing with a random per-process secret.');
  }

  const connections = new Set<Connection>();
  const router = createRouter({
    metrics,
    health: () => broker.health?.() ?? { ok: true },
    logger: log,
    notify: createNotifyHandler({
      apiKey: o.apiKey,
      apiKeys,
      apps: o.apps,
      maxBodyBytes: o.maxBodyBytes,
      rateLimit: o.notifyRateLimit,
      metrics,
      publish,
      rateLimitOf: broker.rateLimit ? (app) => broker.rateLimit!(app, 'notify', o.notifyRateLimit) : undefined,
    }),
    devToken: o.dev ? createDevTokenHandler(auth, o.apps, o.maxBodyBytes) : undefined,
    demo: o.demo,
    staticDir: o.serveStatic,
    telemetry: telemetry?.handle,
    alerts: alerts?.handle,
    dashboard,
    flags: flags?.handle,
    corsOrigins: o.corsOrigins,
  });
  const http: HttpServer = createHttpServer(
    {
      headersTimeout: o.httpTimeouts.headers,
      requestTimeout: o.httpTimeouts.request,
      keepAliveTimeout: o.httpTimeouts.keepAlive,
      // Node checks the two timeouts above only this often (default every 30 s).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(o.httpTimeouts.headers / 2))),
      // Headers beyond 16 KiB are refused with 431 (Node's default, stated so it stays).
      maxHeaderSize: 16 * 1024,
    },
    router,
  );
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 2 * o.maxFrameBytes,
    // Off, and relied on: connection/wire.ts writes frames beside ws, in order only without it.
    perMessageDeflate: false,
  });
  const perIp = new Map<string, number>();
  // Mounted before the native handler is added: engine.io takes its own path's requests and upgrades.
  let socketIo: SocketIoBridge | undefined;
  try {
    socketIo = o.socketIo && mountSocketIo(http, { ...core, nativeConnections: () => connections.size }, o.socketIo);
  } catch (e) {
    flags?.close();
    throw e;
  }
  http.on('upgrade', (req, socket, head) => {
    if (socketIo?.owns(req.url)) return;
    const ip = clientIp(req, o.trustProxy);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const fromIp = perIp.get(ip) ?? 0;
      const refusal =
        connections.size + (socketIo?.count() ?? 0) >= o.maxConnections ? 'global' : fromIp >= o.maxConnectionsPerIp ? 'per_ip' : undefined;
      if (refusal) {
        // 1013 "try again later": a client backs off and retries; nothing was allocated for it.
        metrics.connectionRefused(refusal);
        const reason = refusal === 'global' ? 'server at its connection limit' : 'too many connections from this address';
        ws.send(encodeFrame({ t: 'close', code: TRY_AGAIN_LATER, reason, reconnect: true, retryAfter: 5000 }));
        ws.close(TRY_AGAIN_LATER, reason);
        setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
        return;
      }
      perIp.set(ip, fromIp + 1);
      const c = new Connection(ws, socket, core, (gone) => {
        connections.delete(gone);
        const n = (perIp.get(ip) ?? 1) - 1;
        if (n > 0) perIp.set(ip, n);
        else perIp.delete(ip);
      });
      connections.add(c);
    });
  });
  wss.on('error', (e) => log.error('WebSocket server error', e));

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port, o.host, () => {
      http.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    // A port in use, say: the flags file watcher and Redis links must not keep the process alive.
    flags?.close();
    throw e;
  });
  http.on('error', (e) => log.error('HTTP server error', e));
  const port = (http.address() as AddressInfo).port;
  const hostForUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  const httpUrl = `http://${hostForUrl}:${port}`;
  const url = `ws://${hostForUrl}:${port}/ws`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      // Stop accepting and drop idle keep-alive sockets first, so HTTP clients see them closed early.
      const httpClosed = new Promise<void>((r) => http.close(() => r()));
      http.closeIdleConnections();
      for (const c of connections) c.closeWith(CloseCode.Shutdown, 'server shutting down', true);
      await socketIo?.close();
      // Give the close handshakes a moment, then cut whatever is left.
      const deadline = Date.now() + 1000;
      while ([...wss.clients].some((ws) => ws.readyState !== ws.CLOSED) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await httpClosed;
      presence.close();
      await broker.close();
      alerts?.close();
      telemetryLive?.close();
      await telemetry?.close();
      flags?.close();
    })());

  return {
    url,
    httpUrl,
    port,
    publish: (appId, target, options) =>
      publish(appId, target, options?.idempotencyKey === undefined ? undefined : { key: `api\u0000${options.idempotencyKey}`, fingerprint: fingerprintOf(target) }),
    stats: () => {
      let subscriptions = 0;
      let watches = 0;
      let open = 0;
      for (const c of connections) {
        const s = c.stats();
        if (s.open) open++;
        subscriptions += s.subscriptions;
        watches += s.watches;
      }
      const bridged = socketIo?.stats();
      if (bridged) {
        open += bridged.connections;
        subscriptions += bridged.subscriptions;
        watches += bridged.watches;
      }
      return { connections: open, subscriptions, watches };
    },
    aggregatesUpdated: (app) => telemetryLive?.aggregatesUpdated(app),
    close,
  };
}
