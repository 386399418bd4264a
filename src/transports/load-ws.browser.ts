import type { WebSocketConstructor } from './websocket';

/**
 * Browsers, WebViews and workers always have a global WebSocket; this runs only where one was
 * removed or never existed, and says what to pass instead.
 */
export function loadWebSocket(): Promise<WebSocketConstructor> {
  return Promise.reject(new TypeError('no global WebSocket: pass webSocketTransport({ WebSocket })'));
}
