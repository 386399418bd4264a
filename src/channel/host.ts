import { webSocketTransport, type Transport, type TransportConnection } from 'sdk-realtime';
import { envelope, toEnvelope, type ChannelEnvelope, type ChannelPort } from '../transports/channel';

/** Options of {@link createChannelHost}. */
export interface ChannelHostOptions {
  /** How the host reaches the server. Default {@link webSocketTransport}`()`. */
  transport?: Transport;
  /**
   * Whether a client may open `url`. Default: any `ws:`/`wss:` URL. A refused `open` is answered
   * with `closed` 1008 (policy), which the client retries with backoff; restrict it when the
   * channel's other end is less trusted than the host (a WebView showing remote pages).
   */
  allow?: (url: string) => boolean;
  /**
   * Most connections relayed at once; one more is answered `closed` 1013 (try again later).
   * Default 16: a client holds one, and a few more while reconnecting.
   */
  maxConnections?: number;
  /** Envelopes this host handles; others on the same port are ignored. Default: every envelope. */
  accept?: (e: ChannelEnvelope) => boolean;
}

/** A running host; `close()` ends every relayed connection and stops listening. */
export interface ChannelHost {
  /** Connections relayed now. */
  readonly size: number;
  close(): void;
}

/**
 * The host side of the bridge for JS hosts (a Worker, a SharedWorker port, the leader tab, a
 * Node worker thread): relays each client connection of `port` to a real transport.
 *
 * ```ts
 * // worker.ts
 * import { createChannelHost, messagePort } from 'sdk-realtime/channel';
 * createChannelHost(messagePort(self));
 * ```
 */
export function createChannelHost(port: ChannelPort, options: ChannelHostOptions = {}): ChannelHost {
  const transport = options.transport ?? webSocketTransport();
  const allow = options.allow ?? ((url: string) => /^wss?:\/\//i.test(url));
  const max = options.maxConnections ?? 16;
  const conns = new Map<string, TransportConnection>();
  let stopped = false;
  const post = (e: ChannelEnvelope) => {
    try {
      port.postMessage(e);
    } catch {
      // the other side is gone; its connections end with the port
    }
  };
  const open = (id: string, url: string | undefined) => {
    if (conns.has(id)) return;
    if (!url || !allow(url)) return post(envelope('closed', id, { code: 1008, reason: 'url not allowed' }));
    if (conns.size >= max) return post(envelope('closed', id, { code: 1013, reason: 'too many connections' }));
    let done = false;
    const conn = transport(url, {
      onOpen: () => !done && post(envelope('opened', id)),
      onMessage: (data) => !done && post(envelope('message', id, { data })),
      onError: (error) => !done && post(envelope('error', id, { reason: String((error as Error)?.message ?? error) })),
      onClose(code, reason) {
        if (done) return;
        done = true;
        conns.delete(id);
        post(envelope('closed', id, { code, reason }));
      },
    });
    if (!done) conns.set(id, conn);
  };
  const unsubscribe = port.subscribe((message) => {
    const e = toEnvelope(message);
    if (!e || stopped || (options.accept && !options.accept(e))) return;
    switch (e.type) {
      case 'open':
        return open(e.id, e.url);
      case 'send':
        return typeof e.data == 'string' && conns.get(e.id)?.send(e.data);
      case 'close':
        return conns.get(e.id)?.close(e.code, e.reason);
    }
  });
  return {
    get size() {
      return conns.size;
    },
    close() {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      for (const [id, conn] of conns) {
        post(envelope('closed', id, { code: 1001, reason: 'host closed' }));
        conn.close(1001, 'host closed');
      }
      conns.clear();
    },
  };
}
