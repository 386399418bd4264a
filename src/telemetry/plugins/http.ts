import type { TelemetryPlugin, TrackApi } from '../types';

export interface HttpPluginOptions {
  /** The global object whose `fetch` and `XMLHttpRequest` to wrap. Default `globalThis`. */
  global?: typeof globalThis;
  /** Skip these requests (the telemetry endpoints `/api/telemetry/` are always skipped). Default none. */
  ignore?: (url: string) => boolean;
  /** Also report successful calls (`false`: only failures and status >= 400). Default `true`. */
  successes?: boolean;
}

const ID = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{12,}|(?=[^/]*\d)[\w-]{16,})$/i;

/**
 * The route of a URL for grouping: the path without query or hash, with id-like segments (numbers,
 * UUIDs, long hex or long tokens with digits) replaced by `:id`. `https://x/api/orders/123?a=1` → `/api/orders/:id`.
 */
export function routeOf(url: string, base = 'http://localhost'): string {
  let p: string;
  try {
    p = new URL(url, base).pathname;
  } catch {
    p = url.split(/[?#]/)[0] ?? '';
  }
  return p
    .split('/')
    .map((s) => (ID.test(s) ? ':id' : s))
    .join('/');
}

/**
 * API call instrumentation: wraps `fetch` and `XMLHttpRequest` and sends `api` events named
 * `METHOD /route` with `method`, `route`, `host`, `status` (0 when it failed), `duration` (ms) and
 * `error` (the failure reason). Never reports the telemetry endpoints themselves. Teardown unwraps.
 */
export function httpPlugin(o: HttpPluginOptions = {}): TelemetryPlugin {
  return {
    name: 'http',
    setup(t) {
      const g = o.global ?? globalThis;
      const base = typeof location != 'undefined' ? location.href : undefined;
      const skip = (url: string) => url.includes('/api/telemetry/') || !!o.ignore?.(url);
      const report = (method: string, url: string, start: number, status: number, error?: string) => {
        if ((o.successes === false && status && status < 400) || skip(url)) return;
        const route = routeOf(url, base);
        let host: string | undefined;
        try {
          host = new URL(url, base).host;
        } catch {
          // relative URL without a base
        }
        send(t, method, route, { host, status, duration: Math.round(now() - start), error });
      };
      const undo: Array<() => void> = [];

      const origFetch = g.fetch;
      if (origFetch) {
        const wrapped: typeof fetch = async (input, init) => {
          const url = typeof input == 'string' ? input : input instanceof URL ? input.href : input.url;
          const method = (init?.method ?? (typeof input == 'object' && 'method' in input ? input.method : 'GET')).toUpperCase();
          const start = now();
          try {
            const res = await origFetch.call(g, input, init);
            report(method, url, start, res.status);
            return res;
          } catch (e) {
            report(method, url, start, 0, (e as Error)?.name == 'AbortError' ? 'aborted' : String((e as Error)?.message ?? e));
            throw e;
          }
        };
        g.fetch = wrapped;
        undo.push(() => {
          if (g.fetch === wrapped) g.fetch = origFetch;
        });
      }

      const X = g.XMLHttpRequest?.prototype;
      if (X) {
        const { open, send: xsend } = X;
        const info = new WeakMap<XMLHttpRequest, { method: string; url: string }>();
        X.open = function (this: XMLHttpRequest, method: string, url: string | URL, ...rest: unknown[]) {
          info.set(this, { method: method.toUpperCase(), url: String(url) });
          return (open as (...a: unknown[]) => void).call(this, method, url, ...rest);
        } as typeof X.open;
        X.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
          const i = info.get(this);
          if (i) {
            const start = now();
            let reason: string | undefined;
            for (const type of ['error', 'timeout', 'abort']) this.addEventListener(type, () => (reason = type));
            this.addEventListener('loadend', () => report(i.method, i.url, start, this.status, reason));
          }
          return xsend.call(this, body);
        };
        undo.push(() => {
          X.open = open;
          X.send = xsend;
        });
      }
      return () => undo.forEach((f) => f());
    },
  };
}

const now = () => (typeof performance != 'undefined' ? performance.now() : Date.now());
const send = (t: TrackApi, method: string, route: string, props: Record<string, unknown>) =>
  t.trackApi(`${method} ${route}`, { method, route, ...props });
