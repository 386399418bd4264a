import { webSocketTransport, type Transport, type TransportConnection, type TransportHandlers } from 'sdk-realtime';
import { channelTransport, messagePort, type MessageTargetLike } from '../transports/channel';
import { createChannelHost, type ChannelHost } from './host';
import { multiplexTransport } from './mux';

/** The part of the Web Locks API used (`navigator.locks`). */
export interface LockManagerLike {
  request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<unknown> | unknown): Promise<unknown>;
}
/** The part of the BroadcastChannel constructor used (`globalThis.BroadcastChannel`). */
export type BroadcastChannelCtor = new (name: string) => MessageTargetLike & { close(): void };

/** Options of {@link sharedTabs}. */
export interface SharedTabsOptions {
  /** Name of the BroadcastChannel and of the lock; tabs with the same name share. Default `'sdk-realtime'`. */
  name?: string;
  /** How the leader reaches the server. Default {@link webSocketTransport}`()`. */
  transport?: Transport;
  /** Web Locks. Default `navigator.locks`. Without it (very old browsers) every tab leads: each keeps its own connection. */
  locks?: LockManagerLike;
  /** BroadcastChannel constructor. Default `globalThis.BroadcastChannel`. */
  BroadcastChannel?: BroadcastChannelCtor;
}

/** Who this tab is among the tabs sharing a connection. */
export type TabRole = 'pending' | 'leader' | 'follower';

/** One tab's part in sharing a connection; pass `transport` to `createClient`. */
export interface SharedTabs {
  /** The transport for this tab's client: through the shared connection, led by whichever tab holds the lock. */
  readonly transport: Transport;
  readonly role: TabRole;
  /** Called when the role changes (a follower becomes leader when the leader tab closes). Returns the unsubscribe function. */
  onRole(listener: (role: TabRole) => void): () => void;
  /** Leave: release the lock (another tab takes over) and close the channel. Idempotent. */
  close(): void;
}

/** Control message on the BroadcastChannel: a new leader took over; links made through the old one are dead. */
interface LeaderNotice {
  ch: 'sdk-realtime:tabs';
  leader: string;
}

/**
 * One server connection for all tabs of a site, without a SharedWorker: the tab holding a Web
 * Lock leads; it owns the connection ({@link multiplexTransport}) and relays for the others over
 * a BroadcastChannel ({@link createChannelHost}); followers use {@link channelTransport}. When
 * the leader tab closes, the browser releases its lock, the next tab in line takes over and
 * announces it; every follower's link ends (1001, `leader changed`), so each client reconnects
 * through the new leader and recovers from its own positions.
 *
 * ```ts
 * const tabs = sharedTabs();
 * const client = createClient({ url, app: 'shop', token, transport: tabs.transport });
 * ```
 */
export function sharedTabs(options: SharedTabsOptions = {}): SharedTabs {
  const name = options.name ?? 'sdk-realtime';
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  const locks = options.locks ?? nav?.locks;
  const BC = options.BroadcastChannel ?? (globalThis as { BroadcastChannel?: BroadcastChannelCtor }).BroadcastChannel;
  const me = Math.random().toString(36).slice(2);
  const channel = BC ? new BC(name) : undefined;
  const port = channel ? messagePort(channel) : undefined;
  const follower = port ? channelTransport(port) : undefined;
  const mux = multiplexTransport(options.transport ?? webSocketTransport());
  const listeners = new Set<(role: TabRole) => void>();
  let role: TabRole = 'pending';
  let host: ChannelHost | undefined;
  let release: (() => void) | undefined;
  let closed = false;
  /** Connections asked for before the role was known. */
  let queued: Array<() => void> = [];

  const setRole = (r: TabRole) => {
    if (closed || role == r) return;
    role = r;
    if (r == 'leader') {
      if (port) host = createChannelHost(port, { transport: mux, maxConnections: 64 });
      // Links this tab made through the old leader are dead.
      follower?.closeAll(1001, 'leader changed');
      channel?.postMessage({ ch: 'sdk-realtime:tabs', leader: me } satisfies LeaderNotice);
    }
    for (const run of queued.splice(0)) run();
    for (const l of [...listeners]) l(r);
  };

  const unsubscribe = port?.subscribe((m) => {
    const n = m as LeaderNotice | null;
    if (role == 'follower' && n?.ch == 'sdk-realtime:tabs' && n.leader != me) follower?.closeAll(1001, 'leader changed');
  });

  const lead = () =>
    new Promise<void>((resolve) => {
      release = resolve;
      setRole('leader');
    });
  if (!locks || !follower) setRole('leader');
  else {
    void locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (lock) return lead();
        setRole('follower');
        // Wait in line; granted when the leader tab closes (or calls close()).
        void locks.request(name, {}, () => (closed ? undefined : lead()));
        return undefined;
      })
      .catch(() => setRole('leader'));
  }

  const transport: Transport = (url: string, handlers: TransportHandlers) => {
    if (role != 'pending') return role == 'leader' || !follower ? mux(url, handlers) : follower(url, handlers);
    // Role not known yet (the lock answers asynchronously): open once it is.
    let conn: TransportConnection | undefined;
    let ended = false;
    queued.push(() => {
      if (!ended) conn = transport(url, handlers);
    });
    return {
      send: (frame) => conn?.send(frame),
      close(code = 1000, reason = '') {
        if (conn) return conn.close(code, reason);
        if (ended) return;
        ended = true;
        void Promise.resolve().then(() => handlers.onClose(code, reason));
      },
    };
  };

  return {
    transport,
    get role() {
      return role;
    },
    onRole(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      if (closed) return;
      closed = true;
      queued = [];
      unsubscribe?.();
      host?.close();
      follower?.closeAll(1001, 'tab left');
      release?.();
      channel?.close();
    },
  };
}
