import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { Server as SocketIoServer } from 'socket.io';
import { ErrorCode } from 'sdk-realtime/protocol';
import type { TokenAuthority } from '../auth';
import { MAX_NAME_LENGTH } from '../connection/input';
import { Refusal } from '../connection/refusal';
import { clientIp } from '../http-util';
import { identifyHandshake } from './identity';
import type { ResolvedSocketIoOptions } from './options';
import { BridgedSocket, type BridgeCore, type PacketEncoder } from './socket';

export type { SocketIoOptions } from './options';

/** The socket.io server mounted beside the native protocol. */
export interface SocketIoBridge {
  /** Whether an HTTP request (by its URL) is socket.io's: the native upgrade handler leaves those alone. */
  owns(url: string | undefined): boolean;
  /** Bridged sockets open now (for the shared `maxConnections`). */
  count(): number;
  /** Open bridged sockets, and what they hold. */
  stats(): { connections: number; subscriptions: number; watches: number };
  /** Disconnect every socket (their clients reconnect, to another node if there is one) and stop the engine. */
  close(): Promise<void>;
}

/** What the bridge needs from the server. */
export interface BridgeDeps extends BridgeCore {
  auth: TokenAuthority;
  /** Native connections open now: together with the bridged ones, at most `maxConnections`. */
  nativeConnections(): number;
}

/** engine.io sessions allowed, as a multiple of `maxConnections` and `maxConnectionsPerIp`. */
const ENGINE_SLACK = 2;

/** A handshake refusal as socket.io carries it to the client's `connect_error`: the message, and `data.code`. */
function refusalError(code: string, message: string, retryAfter?: number): Error {
  const e = new Error(message) as Error & { data: unknown };
  e.data = retryAfter === undefined ? { code } : { code, retryAfter };
  return e;
}

/**
 * Mount the real socket.io server on `http` (same port, path `options.path`). Each app is a
 * namespace `/<appId>` (the `apps` allow-list applies; the main namespace `/` is refused); a
 * socket is admitted once its identity checks out (./identity.ts) and then lives as a
 * {@link BridgedSocket}, a subscriber of the same broker as native connections.
 */
export function mountSocketIo(http: HttpServer, deps: BridgeDeps, options: ResolvedSocketIoOptions): SocketIoBridge {
  const o = deps.options;
  const prefix = options.path + '/';
  const sockets = new Set<BridgedSocket>();
  const perIp = new Map<string, number>();
  /** engine.io sessions per client address (each may hold several namespaces). */
  const enginePerIp = new Map<string, number>();
  const cors = o.corsOrigins === undefined ? undefined : { origin: o.corsOrigins === '*' ? true : o.corsOrigins };
  const io = new SocketIoServer(http, {
    path: options.path,
    transports: options.transports,
    serveClient: false,
    maxHttpBufferSize: o.maxFrameBytes,
    pingInterval: o.pingInterval,
    connectTimeout: o.handshakeTimeout,
    // Namespaces come and go with their sockets (one per app seen), so unknown app ids hold nothing.
    cleanupEmptyChildNamespaces: true,
    // Other upgrades (the native /ws) belong to the server's own handler: engine.io must not end them.
    destroyUpgrade: false,
    // engine.io sessions (before any namespace) are bounded too, at twice the connection limits, so
    // a flood of handshakes that never join a namespace cannot pile up until `connectTimeout`.
    // Below that, the namespace check refuses first, with a reason the client sees.
    allowRequest: (req, callback) => {
      if (io.engine.clientsCount + deps.nativeConnections() >= ENGINE_SLACK * o.maxConnections) return callback('server at its connection limit', false);
      if ((enginePerIp.get(clientIp(req, o.trustProxy)) ?? 0) >= ENGINE_SLACK * o.maxConnectionsPerIp) return callback('too many connections from this address', false);
      callback(null, true);
    },
    ...(cors ? { cors } : {}),
  } as ConstructorParameters<typeof SocketIoServer>[1]);
  if (!options.transports.includes('websocket')) {
    // engine.io then listens for no upgrade at all; the native handler leaves this path alone: refuse here.
    http.on('upgrade', (req, socket) => {
      if (req.url?.slice(0, prefix.length) === prefix) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
  }
  io.engine.on('connection', (conn: { request: Parameters<typeof clientIp>[0]; once(event: 'close', listener: () => void): void }) => {
    const ip = clientIp(conn.request, o.trustProxy);
    enginePerIp.set(ip, (enginePerIp.get(ip) ?? 0) + 1);
    conn.once('close', () => {
      const n = (enginePerIp.get(ip) ?? 1) - 1;
      if (n > 0) enginePerIp.set(ip, n);
      else enginePerIp.delete(ip);
    });
  });
  // Bad handshakes (unknown sid, wrong transport, refused by allowRequest) are counted, not logged:
  // a flood of them must not become a flood of log lines.
  io.engine.on('connection_error', () => deps.metrics.error('socketio_handshake'));

  io.of('/').use((_socket, next) => next(refusalError(ErrorCode.BadRequest, 'connect to the namespace of your app: /<appId>')));

  const apps = io.of((name, _auth, next) => {
    const app = name.slice(1);
    next(null, app.length > 0 && app.length <= MAX_NAME_LENGTH && (!o.apps || o.apps.has(app)));
  });

  apps.use((socket, next) => {
    const ip = clientIp(socket.request, o.trustProxy);
    if (sockets.size + deps.nativeConnections() >= o.maxConnections) {
      deps.metrics.connectionRefused('global');
      return next(refusalError(ErrorCode.RateLimited, 'server at its connection limit', 5000));
    }
    if ((perIp.get(ip) ?? 0) >= o.maxConnectionsPerIp) {
      deps.metrics.connectionRefused('per_ip');
      return next(refusalError(ErrorCode.RateLimited, 'too many connections from this address', 5000));
    }
    const app = socket.nsp.name.slice(1);
    const client = randomUUID();
    const gone = () => socket.conn.readyState !== 'open';
    identifyHandshake(app, socket.handshake, deps, client, options.trustClientHeaders, gone)
      .then(async (ctx) => {
        if (!ctx || gone()) return next(refusalError(ErrorCode.BadRequest, 'gone'));
        perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
        const bridged = new BridgedSocket(socket, ctx, deps, (left) => {
          sockets.delete(left);
          const n = (perIp.get(ip) ?? 1) - 1;
          if (n > 0) perIp.set(ip, n);
          else perIp.delete(ip);
        }, io.encoder as unknown as PacketEncoder, options.topicEvents);
        sockets.add(bridged);
        // Personal streams are live before the client hears `connect`: a /notify right after it arrives.
        try {
          await bridged.start();
        } catch (e) {
          bridged.release();
          o.logger.warn(`socket.io ${client}: personal streams not subscribed: ${e instanceof Error ? e.message : String(e)}`);
          return next(refusalError(ErrorCode.Internal, 'service unavailable, retry later', 1000));
        }
        if (gone()) bridged.release();
        next();
      })
      .catch((e: unknown) => {
        if (e instanceof Refusal) return next(refusalError(e.error.code, e.error.message));
        o.logger.error('socket.io handshake failed', e);
        next(refusalError(ErrorCode.Internal, 'internal server error'));
      });
  });

  let closing: Promise<void> | undefined;
  return {
    owns: (url) => url !== undefined && url.slice(0, prefix.length) === prefix,
    count: () => sockets.size,
    stats: () => {
      let subscriptions = 0;
      let watches = 0;
      for (const s of sockets) {
        const st = s.stats();
        subscriptions += st.subscriptions;
        watches += st.watches;
      }
      return { connections: sockets.size, subscriptions, watches };
    },
    close: () =>
      (closing ??= (async () => {
        for (const s of [...sockets]) s.disconnect();
        io.engine.close();
      })()),
  };
}
