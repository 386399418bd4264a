import { webSocketTransport, type Transport, type TransportConnection, type TransportHandlers } from 'sdk-realtime';

/** The fields of wire frames the multiplexer looks at (docs/protocol.md). */
interface Frame {
  t: string;
  id?: number;
  topic?: string;
  app?: string;
  device?: string;
  token?: string;
  streams?: Record<string, unknown>;
  result?: { streams?: Record<string, unknown>; ping?: number; user?: unknown; device?: unknown } & Record<string, unknown>;
  error?: unknown;
  also?: Record<string, number>;
}

/** One client's virtual connection. */
interface Down {
  handlers: TransportHandlers;
  ended?: boolean;
  /** Its `connect` was answered: it receives broadcasts. */
  connected?: boolean;
  topics: Set<string>;
  watches: Set<string>;
  /** Last frame from it, ms: a client that stops answering pings is dropped (a SharedWorker port whose tab died). */
  seen: number;
  /** The shared connection it joined with its `connect` (none before). */
  up?: Up;
}

/** What a reply from upstream goes back to. */
interface Pending {
  down?: Down;
  id?: number;
  kind?: 'connect' | 'personal';
  done?: (reply: Frame) => void;
}

/** The one real connection per URL and identity (app, device, token subject). */
interface Up {
  /** Its key in the map of shared connections. */
  key: string;
  conn: TransportConnection;
  open?: boolean;
  downs: Set<Down>;
  /** The first `connect` sent upstream, and the server's answer once it came. */
  first?: Frame;
  result?: NonNullable<Frame['result']>;
  /** Its own personal streams, from `result`: those granted to its `user` and `device` (at most two). */
  own?: string[];
  /** `connect`s waiting for the connection to open or for the first `connect`'s answer. */
  waiting: Array<[Down, Frame]>;
  pending: Map<number, Pending>;
  subs: Map<string, Set<Down>>;
  watches: Map<string, Set<Down>>;
  next: number;
}

/** Options of {@link multiplexTransport}. */
export interface MultiplexOptions {
  /** Most clients sharing one connection; one more is refused with close code 1013. Default 64. */
  maxClients?: number;
}

/**
 * Who a `connect` acts for, as far as sharing goes: the `sub` claim of its token's payload, read
 * WITHOUT verifying the signature. It only decides which clients may share a connection: the
 * server still verifies the token of the connection's first client, and a client only ever gets a
 * connection opened with a token naming the same subject as its own. A token whose payload cannot
 * be read (not a JWT, no string `sub`) only shares with the very same token; no token: anonymous.
 */
export function tokenSubject(token: string | undefined): string | null {
  if (typeof token != 'string') return null;
  try {
    const sub: unknown = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sub;
    if (typeof sub == 'string') return 'sub:' + sub;
  } catch {
    // not a JWT
  }
  return 'token:' + token;
}

/** The server's ping interval, bounded as the client bounds it (100 ms … 10 min, default 25 s). */
const pingOf = (up: Up) => {
  const ping = up.result?.ping;
  return typeof ping == 'number' && ping >= 0 ? Math.min(600_000, Math.max(100, ping)) : 25_000;
};

const parse = (data: string | ArrayBuffer): Frame | undefined => {
  if (typeof data != 'string') return undefined;
  try {
    const f = JSON.parse(data) as Frame;
    return f && typeof f == 'object' && typeof f.t == 'string' ? f : undefined;
  } catch {
    return undefined;
  }
};

/**
 * A transport that lets many clients (the tabs of a site, through a SharedWorker or the leader
 * tab) share ONE server connection per URL and identity. Each client keeps its own state machine,
 * subscriptions and positions; the multiplexer speaks just enough of the protocol to share:
 *
 * - clients share a connection only when their `connect` names the same `app`, the same `device`
 *   and a token for the same subject (the JWT `sub`, read unverified); a
 *   client of another identity gets a connection of its own, never another user's;
 * - the first client's `connect` goes to the server (its token and identity are the connection's);
 *   later clients are answered from that result, their personal streams recovered with a `sub`
 *   from their own positions; if the first is refused, the next waiting client's `connect` goes;
 * - request ids are renumbered per connection and replies routed back;
 * - `sub`/`watch` are forwarded (each client gets its own recovery), `unsub`/`unwatch` only when
 *   the last client holding the topic lets go;
 * - messages go to the clients subscribed to their stream (personal streams: to all); counts to
 *   the clients watching; `error`, `expired`, `close` and `ping` to all (the server's ping is
 *   answered once, here);
 * - the server connection closes when the last client leaves, and when it ends every client's
 *   link ends with its code, so each reconnects and recovers on its own.
 *
 * A client's link opens at once (the multiplexer is local); the server connection is chosen by
 * its `connect`, and its failure ends the link with the server's close code.
 */
export function multiplexTransport(transport: Transport = webSocketTransport(), options: MultiplexOptions = {}): Transport {
  const max = options.maxClients ?? 64;
  const ups = new Map<string, Up>();

  const endDown = (up: Up | undefined, d: Down, code: number, reason: string) => {
    if (d.ended) return;
    d.ended = true;
    if (up) release(up, d);
    d.handlers.onClose(code, reason);
  };

  /** Forget `d`'s holds; the last holder of a topic unsubscribes upstream; the last client closes the connection. */
  const release = (up: Up, d: Down) => {
    up.downs.delete(d);
    for (const [map, t] of [
      [up.subs, 'unsub'],
      [up.watches, 'unwatch'],
    ] as const) {
      for (const topic of t == 'unsub' ? d.topics : d.watches) {
        const holders = map.get(topic);
        holders?.delete(d);
        if (holders && !holders.size) {
          map.delete(topic);
          if (up.result) upstream(up, { t, topic }, {});
        }
      }
    }
    up.waiting = up.waiting.filter(([w]) => w != d);
    if (!up.downs.size) {
      if (ups.get(up.key) == up) ups.delete(up.key);
      up.conn.close(1000, 'no clients');
    }
  };

  /** Send `f` upstream with a fresh id; its reply goes to `p`. */
  const upstream = (up: Up, f: Frame, p: Pending) => {
    const id = ++up.next;
    up.pending.set(id, p);
    up.conn.send(JSON.stringify({ ...f, id }));
  };
  const reply = (d: Down, id: number | undefined, body: Record<string, unknown>) =>
    !d.ended && d.handlers.onMessage(JSON.stringify({ t: 'reply', id, ...body }));

  /** The personal streams a `connect` result grants to its `user` and `device`, looked up by name (never more than two). */
  const personal = (r: NonNullable<Frame['result']>) =>
    [typeof r.user == 'string' && `user:${r.user}`, typeof r.device == 'string' && `device:${r.device}`].filter(
      (s): s is string => !!s && !!r.streams && typeof r.streams == 'object' && Object.prototype.hasOwnProperty.call(r.streams, s),
    );

  /** A client's `connect` on its connection: answered from the result, sent upstream first, or queued. */
  const connectOn = (up: Up, d: Down, f: Frame) => {
    if (d.ended) return;
    if (up.result) return join(up, d, f);
    if (up.first || !up.open) return void up.waiting.push([d, f]);
    up.first = f;
    upstream(up, f, { down: d, id: f.id, kind: 'connect' });
  };

  /** Answer a later client's `connect` from the shared connection's result. */
  const join = (up: Up, d: Down, f: Frame) => {
    const names = up.own!;
    const streams: Record<string, unknown> = {};
    let left = names.length;
    const done = () => {
      if (d.ended) return;
      d.connected = true;
      reply(d, f.id, { result: { ...up.result, streams } });
    };
    if (!left) return done();
    for (const topic of names) {
      upstream(up, { t: 'sub', topic, since: f.streams?.[topic] } as Frame, {
        done: (r) => {
          if (r.result) streams[topic] = r.result;
          if (!--left) done();
        },
      });
    }
  };

  /** A frame from a client: its `connect` picks (or opens) the connection of its identity; nothing else goes before. */
  const fromDown = (url: string, d: Down, data: string) => {
    d.seen = Date.now();
    const f = parse(data);
    let up = d.up;
    if (!up) {
      if (f?.t != 'connect' || f.id === undefined) return;
      const key = JSON.stringify([url, f.app, f.device ?? null, tokenSubject(f.token)]);
      up = ups.get(key);
      if (up && up.downs.size >= max) return void Promise.resolve().then(() => endDown(undefined, d, 1013, 'too many clients'));
      up ??= connect(url, key);
      up.downs.add(d);
      d.up = up;
    }
    if (!f || f.id === undefined) {
      // pong/ping are answered here; anything unknown goes on as it is.
      if (f?.t != 'pong' && f?.t != 'ping') up.conn.send(data);
      return;
    }
    switch (f.t) {
      case 'connect':
        return connectOn(up, d, f);
      case 'sub':
      case 'watch': {
        const map = f.t == 'sub' ? up.subs : up.watches;
        const topic = f.topic!;
        (f.t == 'sub' ? d.topics : d.watches).add(topic);
        map.set(topic, (map.get(topic) ?? new Set()).add(d));
        return upstream(up, f, { down: d, id: f.id });
      }
      case 'unsub':
      case 'unwatch': {
        const map = f.t == 'unsub' ? up.subs : up.watches;
        const topic = f.topic!;
        (f.t == 'unsub' ? d.topics : d.watches).delete(topic);
        const holders = map.get(topic);
        holders?.delete(d);
        if (holders?.size) return reply(d, f.id, { result: {} });
        map.delete(topic);
        return upstream(up, f, { down: d, id: f.id });
      }
      default:
        return upstream(up, f, { down: d, id: f.id });
    }
  };

  const isPersonal = (up: Up, stream: string) => !!up.own?.includes(stream);

  const fromUp = (up: Up, data: string | ArrayBuffer) => {
    const f = parse(data);
    if (!f) return;
    const all = (filter?: (d: Down) => boolean) => {
      for (const d of [...up.downs]) if (d.connected && !d.ended && (!filter || filter(d))) d.handlers.onMessage(data);
    };
    switch (f.t) {
      case 'reply': {
        const p = up.pending.get(f.id!);
        if (!p) return;
        up.pending.delete(f.id!);
        if (p.done) return p.done(f);
        const d = p.down;
        if (!d) return; // an unsub of the multiplexer's own
        if (p.kind == 'connect') {
          const r = f.result;
          if (f.error || !r || typeof r != 'object' || Array.isArray(r)) {
            // Refused (or an answer nobody can use): the client decides; the next waiting `connect` goes up.
            up.first = undefined;
            reply(d, p.id, { result: r, error: f.error });
          } else {
            // The multiplexer routes one `sub` per topic: its clients are not offered `subs` batches.
            delete r.batch;
            up.result = r;
            up.own = personal(r);
            d.connected = true;
            reply(d, p.id, { result: r });
          }
          for (const [w, wf] of up.waiting.splice(0)) connectOn(up, w, wf);
          return;
        }
        return reply(d, p.id, { result: f.result, error: f.error });
      }
      case 'msg': {
        const streams = f.also ? [f.topic!, ...Object.keys(f.also)] : [f.topic!];
        if (streams.some((s) => isPersonal(up, s))) return all();
        return all((d) => streams.some((s) => d.topics.has(s)));
      }
      case 'count':
        return all((d) => d.watches.has(f.topic!));
      case 'ping': {
        up.conn.send('{"t":"pong"}');
        // A client silent for three ping intervals is gone (a tab that died without closing its port).
        const limit = Date.now() - 3 * pingOf(up);
        for (const d of [...up.downs]) if (d.connected && d.seen < limit) endDown(up, d, 1001, 'client unresponsive');
        return all();
      }
      default:
        return all();
    }
  };

  const connect = (url: string, key: string): Up => {
    const up: Up = { key, downs: new Set(), waiting: [], pending: new Map(), subs: new Map(), watches: new Map(), next: 0 } as unknown as Up;
    ups.set(key, up);
    up.conn = transport(url, {
      onOpen() {
        up.open = true;
        for (const [w, wf] of up.waiting.splice(0)) connectOn(up, w, wf);
      },
      onMessage: (data) => fromUp(up, data),
      onError: (e) => {
        for (const d of [...up.downs]) d.handlers.onError?.(e);
      },
      onClose(code, reason) {
        if (ups.get(key) == up) ups.delete(key);
        for (const d of [...up.downs]) endDown(undefined, d, code, reason);
        up.downs.clear();
      },
    });
    return up;
  };

  return (url: string, handlers: TransportHandlers) => {
    const d: Down = { handlers, topics: new Set(), watches: new Set(), seen: Date.now() };
    // Open at once, on a microtask (handlers never run inside this call): the client's `connect` picks the connection.
    void Promise.resolve().then(() => !d.ended && handlers.onOpen());
    return {
      send: (frame) => !d.ended && fromDown(url, d, frame),
      close(code = 1000, reason = '') {
        if (d.ended) return;
        if (d.up) release(d.up, d);
        d.ended = true;
        void Promise.resolve().then(() => handlers.onClose(code, reason));
      },
    };
  };
}
