import type { TransportHandlers } from './types';
import type { WebSocketConstructor, WebSocketLike } from './websocket';

/**
 * Node's WebSocket for runtimes without a global one (Node 20): the `ws` package, an optional peer
 * dependency, imported only when a connection needs it. Browser builds get load-ws.browser.ts
 * instead (package.json `imports`, `#load-ws` without the `node` condition), so no
 * browser bundle ever contains `ws`.
 */
export function loadWebSocket(): Promise<WebSocketConstructor> {
  return import(/* webpackIgnore: true */ /* @vite-ignore */ 'ws').then(
    (m: { WebSocket?: unknown; default?: unknown }) => (m.WebSocket ?? m.default) as WebSocketConstructor,
    (cause: unknown) => {
      throw new Error('sdk-realtime: this runtime has no global WebSocket and the `ws` package is not installed: run `npm install ws`, or pass `WebSocket` to webSocketTransport()', { cause });
    },
  );
}

/**
 * A socket of webSocketTransport knows its link under this key, so one set of handler functions
 * serves every socket. A symbol, so no property of the socket's own (a polyfill's minified fields)
 * can collide. Defined here, where the `ws` events below need it too.
 */
export const LINK = Symbol();

/** What a socket's events reach: its link (SocketLink, websocket.ts), by names the build does not shorten. */
interface Link {
  readonly handlers: TransportHandlers;
  /** Report the end once. */
  end(code: number, reason: string): void;
}
type WsSocket = WebSocketLike & { [LINK]: Link; on(event: string, listener: (...args: never[]) => void): void };

// `open` and `error` take the transport's own shared handlers (same arguments in both APIs).
// `ws`'s own events skip building an Event per frame (the receive hot path) and the wrapper
// closure `ws` makes for each `on…` handler. Text arrives as a Buffer: `toString()` is a direct
// call, about 2× faster than `String(data)`. Node-only: browser bundles do without them.
function closed(this: WsSocket, code: number, reason: object): void {
  this[LINK].end(code || 1006, reason.toString());
}
function received(this: WsSocket, data: object, binary: boolean): void {
  this[LINK].handlers.onMessage(binary ? (data as ArrayBuffer) : data.toString());
}

/**
 * Listen to `ws`'s own events (its Node EventEmitter API) when `socket` has them: `false` for a
 * browser-style socket (Node 22's global WebSocket), which then gets `on…` handlers.
 */
export function listen(socket: WebSocketLike, opened: () => void, errored: (error: unknown) => void): boolean {
  if (!socket.on) return false;
  socket.on('open', opened);
  socket.on('message', received);
  socket.on('error', errored);
  socket.on('close', closed);
  return true;
}
