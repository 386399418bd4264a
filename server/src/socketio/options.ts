import { bad, bool, obj, str } from '../validate';

/** Options of the socket.io bridge (`ServerOptions.socketIo`); `true` takes every default. */
export interface SocketIoOptions {
  /**
   * Take the identity from the `x-client-id` (user) and `x-device-id` (device) handshake headers
   * when the handshake carries no token. Default `false`: a JWT is required (`auth.token` or
   * `Authorization: Bearer`), verified exactly like native connections. Turn this on only behind a
   * gateway you trust to set those headers: anyone who reaches the server directly can claim any
   * user. A token, when sent, is still verified and wins over the headers.
   */
  trustClientHeaders?: boolean;
  /**
   * HTTP path of the socket.io endpoint (polling requests and WebSocket upgrades). Default
   * `'/socket.io'`, the socket.io client's default. The native protocol keeps every other path.
   */
  path?: string;
  /**
   * Transports accepted. Default `['polling', 'websocket']` (socket.io's default: start on
   * long-polling, upgrade to WebSocket). Long-polling across several nodes needs sticky sessions
   * (docs/socketio.md); `['websocket']` does not.
   */
  transports?: Array<'polling' | 'websocket'>;
  /**
   * Also emit each message as an event named after each subscribed topic it was sent to (for
   * `socket.on(topic)`), besides `dataUpdate`. Default `true`. That is a second packet per delivery:
   * `false` halves the bridge's per-delivery work when clients listen to `dataUpdate` only.
   */
  topicEvents?: boolean;
}

/** {@link SocketIoOptions} with defaults applied. */
export interface ResolvedSocketIoOptions {
  trustClientHeaders: boolean;
  path: string;
  transports: Array<'polling' | 'websocket'>;
  topicEvents: boolean;
}

/** `undefined` when the bridge is off (`false` or absent). A bad option throws a TypeError naming it. */
export function resolveSocketIoOptions(input: unknown): ResolvedSocketIoOptions | undefined {
  if (input === undefined || input === false) return undefined;
  const o = (input === true ? {} : obj('socketIo', input)) as SocketIoOptions;
  const path = str('socketIo.path', o.path) ?? '/socket.io';
  if (!path.startsWith('/') || path === '/' || /[?#\s]/.test(path)) throw bad('socketIo.path', "a path like '/socket.io' (not '/', no query)");
  const normalized = path.replace(/\/+$/, '');
  if (normalized === '/ws' || normalized.startsWith('/ws/')) throw bad('socketIo.path', 'a path other than /ws (the native endpoint)');
  let transports: ResolvedSocketIoOptions['transports'] = ['polling', 'websocket'];
  if (o.transports !== undefined) {
    if (!Array.isArray(o.transports) || o.transports.length === 0 || !o.transports.every((t) => t === 'polling' || t === 'websocket')) {
      throw bad('socketIo.transports', "a non-empty array of 'polling' and 'websocket'");
    }
    transports = [...new Set(o.transports)];
  }
  const topicEvents = o.topicEvents === undefined ? true : bool('socketIo.topicEvents', o.topicEvents);
  return { trustClientHeaders: bool('socketIo.trustClientHeaders', o.trustClientHeaders), path: normalized, transports, topicEvents };
}
