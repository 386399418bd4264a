/**
 * Settings from the query string, with defaults for `npm run dev`:
 * `?url=ws://127.0.0.1:8080/ws&tokenUrl=http://127.0.0.1:8080/dev/token&app=shop&user=alice&topic=orders`.
 */
const params = new URLSearchParams(location.search);

/**
 * WebSocket endpoint: `?url=`, default `/ws` on this host (Vite proxies it to the reference server).
 * A bad `?url=` stops here with an error naming it.
 */
export const WS_URL = params.get('url') ?? `${location.protocol == 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const ws = new URL(WS_URL, location.href);
if (ws.protocol != 'ws:' && ws.protocol != 'wss:') throw new TypeError(`?url= must be a ws:// or wss:// URL, got "${WS_URL}"`);

/**
 * Token endpoint (`POST /dev/token` of a dev server): `?tokenUrl=`; else, when `?url=` names a
 * server, that server's own (same host and port over http(s): a token only works on the server
 * that signed it); else `/dev/token` on this host (Vite proxies it next to `/ws`).
 */
export const TOKEN_URL =
  params.get('tokenUrl') ?? (params.has('url') ? `${ws.protocol == 'wss:' ? 'https' : 'http'}://${ws.host}/dev/token` : '/dev/token');
export const APP = params.get('app') ?? 'shop';
export const USER = params.get('user') ?? `guest-${Math.random().toString(36).slice(2, 7)}`;
/** The topic the back end publishes order changes on. */
export const TOPIC = params.get('topic') ?? 'orders';

/**
 * A fresh token for every (re)connect, from the reference server's dev endpoint (dev mode only:
 * a real app asks its own back end).
 */
export async function fetchToken(): Promise<string> {
  const res = await fetch(TOKEN_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ app: APP, user: USER }),
  });
  if (!res.ok) throw new Error(`dev token from ${TOKEN_URL}: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}
