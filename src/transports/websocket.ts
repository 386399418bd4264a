import { LINK, listen, loadWebSocket } from '#load-ws';
import type { Transport, TransportConnection, TransportHandlers } from './types';

/** The part of the WebSocket API the transport uses (browser `WebSocket` and `ws` both have it). */
export interface WebSocketLike {
  binaryType: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  /** Present on `ws` (Node EventEmitter API); absent on browser WebSockets. */
  on?(event: string, listener: (...args: never[]) => void): void;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface WebSocketTransportOptions {
  /**
   * WebSocket implementation. Default: `globalThis.WebSocket`; where there is none (Node 20), the
   * `ws` package (an optional peer dependency: `npm install ws`), loaded with a dynamic `import('ws')`
   * only then; browser builds of this package never reference it. Its event handlers must be
   * called with the socket as `this`, as browsers (WHATWG), `ws` and event-target-shim do.
   */
  WebSocket?: WebSocketConstructor;
  /** Subprotocols to offer. Default: none. */
  protocols?: string | string[];
}

/** A socket of this transport: it knows its link under {@link LINK}. */
type Socket = WebSocketLike & { [LINK]: SocketLink };

// One set of handler functions for all sockets (they find their link through `this`), so a link
// costs no closures: ~0.7 KB less heap per idle connection than a closure per handler (bench/mem.mjs).
function opened(this: Socket): void {
  this[LINK].handlers.onOpen();
}
function errored(this: Socket, error: unknown): void {
  this[LINK].handlers.onError?.(error);
}
function closedEvent(this: Socket, ev: { code?: number; reason?: string }): void {
  this[LINK].end(ev.code || 1006, ev.reason || '');
}
function messageEvent(this: Socket, ev: { data: unknown }): void {
  this[LINK].handlers.onMessage(ev.data as string | ArrayBuffer);
}

/** One WebSocket connection: the object the client holds, and what the socket's handlers reach through `this`. */
class SocketLink implements TransportConnection {
  private ws_?: WebSocketLike;
  private closing_?: boolean;
  private ended_?: boolean;

  constructor(
    readonly handlers: TransportHandlers,
    private readonly url_: string,
    private readonly protocols_?: string | string[],
  ) {}

  attach_(Ctor: WebSocketConstructor): void {
    if (this.closing_) return this.end(1000, '');
    let ws: Socket;
    try {
      ws = new Ctor(this.url_, this.protocols_) as Socket;
    } catch (error) {
      return this.fail_(error);
    }
    this.ws_ = ws;
    ws[LINK] = this;
    // Binary frames arrive as ArrayBuffer in browsers and in `ws` alike.
    ws.binaryType = 'arraybuffer';
    // `ws` on Node gets its own events (see load-ws.ts); a browser-style socket, `on…` handlers.
    if (!listen(ws, opened, errored)) {
      ws.onopen = opened;
      ws.onmessage = messageEvent;
      ws.onerror = errored;
      ws.onclose = closedEvent;
    }
  }

  /** Report the end once (unmangled, like `handlers`: the `ws` events of load-ws.ts call it). */
  end(code: number, reason: string): void {
    if (this.ended_) return;
    this.ended_ = true;
    this.handlers.onClose(code, reason);
  }

  fail_(error: unknown): void {
    this.handlers.onError?.(error);
    this.end(1006, String((error as Error)?.message ?? error));
  }

  send(frame: string): void {
    try {
      this.ws_?.send(frame);
    } catch (error) {
      this.handlers.onError?.(error);
    }
  }

  close(code = 1000, reason = ''): void {
    const ws = this.ws_;
    if (this.closing_) return;
    this.closing_ = true;
    if (!ws) return;
    try {
      ws.close(code, reason);
    } catch {
      // Browsers only allow 1000 and 3000–4999 (and a short reason): fall back to a plain close.
      ws.close();
    }
  }
}

/** The default transport: one WebSocket per connection. */
export function webSocketTransport(options: WebSocketTransportOptions = {}): Transport {
  return (url: string, handlers: TransportHandlers) => {
    const link = new SocketLink(handlers, url, options.protocols);
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    // Even with a global WebSocket, start on a microtask: handlers must never run inside this call.
    void (Ctor ? Promise.resolve(Ctor) : loadWebSocket()).then(
      (C) => link.attach_(C),
      (e) => link.fail_(e),
    );
    return link;
  };
}
