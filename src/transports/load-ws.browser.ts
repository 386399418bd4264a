import type { WebSocketConstructor, WebSocketLike } from './websocket';

/**
 * Browsers, WebViews and workers always have a global WebSocket; this runs only where one was
 * removed or never existed, and says what to pass instead.
 */
export function loadWebSocket(): Promise<WebSocketConstructor> {
  return Promise.reject(new TypeError('no global WebSocket: pass webSocketTransport({ WebSocket })'));
}

/** The key under which a socket knows its link (see load-ws.ts). */
export const LINK = Symbol();

/** No `ws` events outside Node: every socket gets `on…` handlers. */
export const listen = (_socket: WebSocketLike, _opened: () => void, _errored: (error: unknown) => void): boolean => false;
