import type { Transport, TransportHandlers } from './types';

/** Value of {@link ChannelEnvelope.ch}: envelopes of other traffic on the same channel are ignored. */
export const CHANNEL = 'sdk-realtime';

/**
 * One message of the bridge protocol between a page (the client side) and a host that owns the
 * socket (a native app, a Worker, a SharedWorker, the leader tab). docs/channel.md describes it.
 *
 * Client → host: `open` (`url`), `send` (`data`), `close` (`code`, `reason`).
 * Host → client: `opened`, `message` (`data`), `error` (`reason`), `closed` (`code`, `reason`).
 * `id` names one connection; every envelope of that connection carries it.
 */
export interface ChannelEnvelope {
  /** Bridge protocol version: 1. */
  v: 1;
  ch: typeof CHANNEL;
  type: 'open' | 'send' | 'close' | 'opened' | 'message' | 'closed' | 'error';
  /** Connection id, chosen by the client side, unique per channel. */
  id: string;
  url?: string;
  /** A frame: text, or an ArrayBuffer over structured-clone channels. */
  data?: string | ArrayBuffer;
  code?: number;
  reason?: string;
}

/**
 * Both ends of a message channel as the bridge uses it. Incoming messages may be envelopes or
 * their JSON text; anything else is ignored.
 */
export interface ChannelPort {
  postMessage(message: ChannelEnvelope): void;
  /** Listen to incoming messages; returns the unsubscribe function. */
  subscribe(listener: (message: unknown) => void): () => void;
}

/** What {@link messagePort} accepts: a MessagePort, Worker, worker `self`, BroadcastChannel, or a Node worker_threads port/Worker. */
export interface MessageTargetLike {
  postMessage(message: unknown): void;
  addEventListener?(type: 'message', listener: (ev: { data: unknown }) => void): void;
  removeEventListener?(type: 'message', listener: (ev: { data: unknown }) => void): void;
  /** Node EventEmitter style (worker_threads `Worker`), used when there is no `addEventListener`. */
  on?(type: 'message', listener: (data: unknown) => void): unknown;
  off?(type: 'message', listener: (data: unknown) => void): unknown;
  /** MessagePort: started when listened to. */
  start?(): void;
}

/** A {@link ChannelPort} over a structured-clone channel (envelopes travel as objects). */
export function messagePort(target: MessageTargetLike): ChannelPort {
  return {
    postMessage: (m) => target.postMessage(m),
    subscribe(listener) {
      if (target.addEventListener) {
        const fn = (ev: { data: unknown }) => listener(ev.data);
        target.addEventListener('message', fn);
        target.start?.();
        return () => target.removeEventListener?.('message', fn);
      }
      target.on?.('message', listener);
      return () => void target.off?.('message', listener);
    },
  };
}

/**
 * A {@link ChannelPort} over a text-only channel (Flutter `JavaScriptChannel`, React Native
 * `ReactNativeWebView.postMessage`): envelopes travel as JSON text, so frames must be text.
 *
 * ```ts
 * // Flutter: JavaScriptChannel "SdkRealtime"; Dart answers with runJavaScript("sdkRealtimeReceive(<json>)").
 * const listeners = new Set<(text: string) => void>();
 * (window as any).sdkRealtimeReceive = (m: unknown) => listeners.forEach((l) => l(typeof m == 'string' ? m : JSON.stringify(m)));
 * const port = textPort((t) => (window as any).SdkRealtime.postMessage(t), (l) => (listeners.add(l), () => listeners.delete(l)));
 * ```
 */
export function textPort(send: (text: string) => void, subscribe: (listener: (text: string) => void) => () => void): ChannelPort {
  return { postMessage: (m) => send(JSON.stringify(m)), subscribe };
}

/** The envelope in `message` (an object, or its JSON text), or `undefined` when it is none. */
export function toEnvelope(message: unknown): ChannelEnvelope | undefined {
  let m = message;
  if (typeof m == 'string') {
    if (m[0] != '{') return undefined;
    try {
      m = JSON.parse(m);
    } catch {
      return undefined;
    }
  }
  const e = m as ChannelEnvelope | null;
  return e && typeof e == 'object' && e.ch === CHANNEL && e.v === 1 && typeof e.id == 'string' && typeof e.type == 'string' ? e : undefined;
}

/** Build an envelope. */
export const envelope = (type: ChannelEnvelope['type'], id: string, rest?: Partial<ChannelEnvelope>): ChannelEnvelope => ({
  v: 1,
  ch: CHANNEL,
  type,
  id,
  ...rest,
});

let seq = 0;
/** Connection ids unique across the tabs sharing a BroadcastChannel: a random prefix per page, a counter. */
const prefix = Math.random().toString(36).slice(2, 10);

/** A channel transport that can also end its live connections (used when the host behind it changes). */
export interface ChannelTransport extends Transport {
  /** End every open or opening connection of this transport with `code` (the client then reconnects). */
  closeAll(code: number, reason: string): void;
}

/**
 * A transport that relays frames over a host message channel, so the host owns the socket: a
 * Flutter or React Native WebView bridge, a Worker, a MessagePort, a SharedWorker or the leader
 * tab. The host runs {@link createChannelHost} (JS) or its equivalent (docs/channel.md).
 *
 * `close()` ends the connection at once (the host is told, and its answer is not awaited), so a
 * host that went away cannot keep the client waiting; a host that never answers `open` is caught
 * by the client's `connectTimeout`, a dead one by its heartbeat.
 */
export function channelTransport(port: ChannelPort): ChannelTransport {
  const live = new Map<string, (code: number, reason: string) => void>();
  const transport = ((url: string, handlers: TransportHandlers) => {
    const id = `${prefix}-${++seq}`;
    let ended = false;
    let closing = false;
    const end = (code: number, reason: string) => {
      if (ended) return;
      ended = true;
      live.delete(id);
      unsubscribe();
      handlers.onClose(code, reason);
    };
    const unsubscribe = port.subscribe((message) => {
      const e = toEnvelope(message);
      if (!e || e.id !== id || ended) return;
      switch (e.type) {
        case 'opened':
          return closing || handlers.onOpen();
        case 'message':
          return e.data !== undefined && !closing && handlers.onMessage(e.data);
        case 'error':
          return handlers.onError?.(new Error(e.reason ?? 'host transport error'));
        case 'closed':
          return end(e.code || 1006, e.reason ?? '');
      }
    });
    live.set(id, (code, reason) => {
      closing = true;
      void Promise.resolve().then(() => end(code, reason));
    });
    const post = (e: ChannelEnvelope) => {
      try {
        port.postMessage(e);
      } catch (error) {
        // A closed port or an uncloneable frame: the link is unusable.
        handlers.onError?.(error);
        live.get(id)?.(1006, 'channel failed');
      }
    };
    // Handlers must never run inside this call: posting is asynchronous on every real channel.
    void Promise.resolve().then(() => !ended && !closing && post(envelope('open', id, { url })));
    return {
      send(frame) {
        if (!ended && !closing) post(envelope('send', id, { data: frame }));
      },
      close(code = 1000, reason = '') {
        if (closing || ended) return;
        post(envelope('close', id, { code, reason }));
        live.get(id)?.(code, reason);
      },
    };
  }) as ChannelTransport;
  transport.closeAll = (code, reason) => {
    for (const stop of [...live.values()]) stop(code, reason);
  };
  return transport;
}
