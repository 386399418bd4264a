/**
 * Settings from the query string, with defaults for `npm run dev`:
 * `?url=ws://host/ws&app=shop&user=alice&topic=orders`.
 */
const params = new URLSearchParams(location.search);

/** WebSocket endpoint: default `/ws` on this host (Vite proxies it to the reference server). */
export const WS_URL = params.get('url') ?? `${location.protocol == 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
export const APP = params.get('app') ?? 'shop';
export const USER = params.get('user') ?? `guest-${Math.random().toString(36).slice(2, 7)}`;
/** The topic the back end publishes order changes on. */
export const TOPIC = params.get('topic') ?? 'orders';

/**
 * A fresh token for every (re)connect, from the reference server's dev endpoint (dev mode only:
 * a real app asks its own back end).
 */
export async function fetchToken(): Promise<string> {
  const res = await fetch('/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ app: APP, user: USER }),
  });
  if (!res.ok) throw new Error(`dev token: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}
