import type { WebSocketConstructor } from './websocket';

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
