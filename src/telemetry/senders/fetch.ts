import type { Sender } from '../types';
import { parseRetryAfter } from './retry-after';

export interface FetchSenderOptions {
  /** Full URL of the batch endpoint (`…/api/telemetry/batch`). */
  url: string;
  /** Default: the global `fetch` at call time. */
  fetch?: typeof fetch;
  /** Default: `navigator.sendBeacon` when present, else a `fetch` with `keepalive`. `false`: no unload sending. */
  sendBeacon?: ((url: string, body: string) => boolean) | false;
  /** Extra request headers (a non-simple header makes cross-origin requests preflighted). Default none. */
  headers?: Record<string, string>;
}

/** Bodies up to this size go with `keepalive` (browsers cap keepalive bodies in flight at 64 KiB). */
const KEEPALIVE_MAX = 30 * 1024;

/**
 * Upload with `fetch` as `text/plain` (a CORS-simple request, no preflight; the server parses JSON
 * whatever the type), `keepalive` for small bodies; on unload, `sendBeacon`.
 */
export function fetchSender(o: FetchSenderOptions): Sender {
  const f = (init: RequestInit) =>
    (o.fetch ?? fetch)(o.url, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8', ...o.headers }, ...init });
  const nav = typeof navigator != 'undefined' ? navigator : undefined;
  const beacon = o.sendBeacon ?? (nav?.sendBeacon ? (u: string, b: string) => nav.sendBeacon(u, b) : undefined);
  return {
    async send(body, signal) {
      try {
        const res = await f({ body, signal, keepalive: body.length <= KEEPALIVE_MAX });
        return { status: res.status, retryAfter: parseRetryAfter(res.headers.get('retry-after')) };
      } catch {
        return { status: 0 };
      }
    },
    unload:
      beacon === false
        ? undefined
        : (body) => {
            try {
              if (beacon) return beacon(o.url, body);
              f({ body, keepalive: true }).catch(() => {});
              return true;
            } catch {
              return false;
            }
          },
  };
}
