import type { Transport, TransportHandlers } from './types';

/**
 * The `SocketTask` a mini-program's `connectSocket` returns (WeChat `wx`, uni-app `uni`, Taro,
 * Alipay `my` with `multiple: true`). Only the per-task API is used, never the legacy global
 * `onSocketMessage`/`sendSocketMessage` pair, so several clients never share one socket by accident.
 */
export interface MiniProgramSocketTask {
  onOpen(cb: (res?: unknown) => void): void;
  /** WeChat: `{ data: string | ArrayBuffer }`. Alipay: `{ data: { data: string, isBuffer: boolean } }` (base64 when `isBuffer`). */
  onMessage(cb: (res: { data?: unknown }) => void): void;
  /** WeChat: `{ code, reason }`; Alipay may omit both. */
  onClose(cb: (res?: { code?: number; reason?: string }) => void): void;
  /** WeChat: `{ errMsg }`; Alipay: `{ error, errorMessage }`. */
  onError(cb: (res?: unknown) => void): void;
  send(options: { data: string | ArrayBuffer; success?: () => void; fail?: (res: unknown) => void }): void;
  close(options?: { code?: number; reason?: string; success?: () => void; fail?: (res: unknown) => void }): void;
}

/** Options of `connectSocket`, the fields this transport passes. */
export interface ConnectSocketOptions {
  url: string;
  header?: Record<string, string>;
  protocols?: string[];
  /** Connect timeout in ms (WeChat). */
  timeout?: number;
  /** Alipay: return a `SocketTask` instead of using the single global socket. Ignored elsewhere. */
  multiple?: boolean;
  success?: (res?: unknown) => void;
  fail?: (res: unknown) => void;
}

/** The part of a mini-program API object (`wx`, `uni`, `Taro`, `my`) the transport uses. */
export interface MiniProgramSocketApi {
  connectSocket(options: ConnectSocketOptions): MiniProgramSocketTask | undefined | void;
}

/** Options of {@link miniProgramTransport}. */
export interface MiniProgramTransportOptions {
  /** The API object. Default: `globalThis.wx`, looked up when a connection opens. */
  api?: MiniProgramSocketApi;
  /** Extra request headers of the handshake (WeChat forbids `Referer`). Default: none. */
  header?: Record<string, string>;
  /** Subprotocols to offer. Default: none. */
  protocols?: string[];
  /** Handshake timeout passed to `connectSocket`, in ms. Default: the platform's (WeChat: 60 000 or `app.json` `networkTimeout.connectSocket`). */
  timeout?: number;
  /**
   * Asked before each connection: a reason string holds it back (the connection ends at once with
   * close code 1001 and that reason, without touching the network), `undefined` lets it open.
   * {@link createWechatClient} uses it so a hidden or offline app makes no attempts, instead of a
   * retry storm that the platform would suspend anyway. Default: never hold back.
   */
  hold?: () => string | undefined;
}

const message = (res: unknown): string => {
  const r = res as { errMsg?: string; errorMessage?: string; message?: string } | undefined;
  return r?.errMsg ?? r?.errorMessage ?? r?.message ?? String(res);
};

/** Base64 alphabet. */
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Decode base64 (Alipay binary frames) without `atob`, which mini-programs lack; non-alphabet characters are skipped. */
export function base64ToArrayBuffer(text: string): ArrayBuffer {
  const clean = text.replace(/[^A-Za-z0-9+/]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (let i = 0; i < clean.length; i++) {
    value = (value << 6) | B64.indexOf(clean[i]!);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
    }
  }
  return out.buffer.slice(0, n);
}

/** Unwrap a message event: WeChat/uni/Taro give `data` directly, Alipay nests `{ data, isBuffer }`. */
const payload = (res: { data?: unknown }): string | ArrayBuffer => {
  const d = res?.data as unknown;
  if (d && typeof d == 'object' && !(d instanceof ArrayBuffer) && 'data' in d) {
    const inner = d as { data: unknown; isBuffer?: boolean };
    return inner.isBuffer && typeof inner.data == 'string' ? base64ToArrayBuffer(inner.data) : (inner.data as string | ArrayBuffer);
  }
  return d as string | ArrayBuffer;
};

/**
 * A transport over the mini-program `connectSocket` API: one `SocketTask` per connection.
 * WeChat allows 5 sockets at once per mini-program; a 6th fails (`fail` callback) and is reported
 * as an error and close code 1006, like any failed handshake, so the client backs off.
 */
export function miniProgramTransport(options: MiniProgramTransportOptions = {}): Transport {
  return (url: string, handlers: TransportHandlers) => {
    let task: MiniProgramSocketTask | undefined;
    let closing = false;
    let ended = false;
    let opened = false;
    const end = (code: number, reason: string) => {
      if (ended) return;
      ended = true;
      handlers.onClose(code, reason);
    };
    const fail = (error: unknown) => {
      if (ended) return;
      handlers.onError?.(error);
      end(1006, message(error));
    };
    const start = () => {
      if (closing) return end(1000, '');
      const held = options.hold?.();
      if (held !== undefined) return end(1001, held);
      const api = options.api ?? (globalThis as { wx?: MiniProgramSocketApi }).wx;
      if (!api?.connectSocket) return fail(new Error('no mini-program API: pass options.api (wx, uni, Taro or my)'));
      try {
        const t = api.connectSocket({
          url,
          header: options.header,
          protocols: options.protocols,
          timeout: options.timeout,
          multiple: true,
          fail: (res) => fail(res),
        });
        if (!t) return fail(new Error('connectSocket returned no SocketTask (Alipay: base library too old for `multiple`)'));
        task = t;
      } catch (error) {
        return fail(error);
      }
      task.onOpen(() => {
        opened = true;
        // Closed (or ended) while opening: this late socket is nobody's; close it.
        if (closing || ended) task!.close({ code: 1000 });
        else handlers.onOpen();
      });
      task.onMessage((res) => !ended && handlers.onMessage(payload(res)));
      task.onError((res) => {
        if (ended || closing) return;
        handlers.onError?.(res);
        // Some platforms report a refused handshake only through onError, with no onClose after it.
        if (!opened) end(1006, message(res));
      });
      task.onClose((res) => end(res?.code || (closing ? 1000 : 1006), res?.reason || ''));
    };
    // Handlers must never run inside this call.
    void Promise.resolve().then(start);
    return {
      send(frame) {
        task?.send({ data: frame, fail: (res) => !ended && handlers.onError?.(res) });
      },
      close(code = 1000, reason = '') {
        if (closing) return;
        closing = true;
        if (!task) return;
        // Before open some platforms ignore close(): end now; onOpen closes the late socket.
        if (!opened) {
          try {
            task.close({ code, reason });
          } catch {
            // not open yet
          }
          return void Promise.resolve().then(() => end(code, reason));
        }
        const fallback = () => {
          try {
            task!.close({});
          } catch {
            // already closed
          }
        };
        try {
          // WeChat accepts 1000 and 3000–4999 only; anything else falls back to a plain close.
          task.close({ code, reason, fail: fallback });
        } catch {
          fallback();
        }
      },
    };
  };
}
