/**
 * Framework-free per-topic stores that the React and Vue adapters bind to (bundled into each).
 *
 * Every component asking for the same topic of the same client shares ONE core handler (so one
 * server subscription or watch, however many components). The last holder leaving releases it one
 * microtask later, so an unmount followed at once by a mount (React StrictMode's double effects, a
 * keyed re-mount, a changed `enabled`) keeps the subscription instead of sending `unsub` + `sub`.
 * @internal
 */
import type { RealtimeClient } from 'sdk-realtime';

/** What a shared source emits: a message (or count), and the subscription's life-cycle events. */
export type Kind = 'onMessage' | 'onGap' | 'onSubscribed' | 'onError';
/** One holder's listener. */
export type Fan = (kind: Kind, arg: unknown) => void;

interface Entry {
  fans: Set<Fan>;
  /** Last `onMessage` value (message or online count); `undefined` until the first. */
  last?: unknown;
  close(): void;
}

const entries = new WeakMap<RealtimeClient, Map<string, Entry>>();

/** Hold the shared source `key` of `client`, opening it for the first holder; returns the release function. */
function hold(client: RealtimeClient, key: string, open: (emit: Fan) => () => void, fan: Fan): () => void {
  let map = entries.get(client);
  if (!map) entries.set(client, (map = new Map()));
  let e = map.get(key);
  if (!e) {
    const entry: Entry = { fans: new Set(), close() {} };
    map.set(key, (e = entry));
    entry.close = open((kind, arg) => {
      if (kind == 'onMessage') entry.last = arg;
      for (const f of entry.fans) f(kind, arg);
    });
  }
  const entry = e;
  // A wrapper per hold, so the same listener held twice is two holds.
  const mine: Fan = (kind, arg) => fan(kind, arg);
  entry.fans.add(mine);
  return () => {
    if (!entry.fans.delete(mine)) return;
    void Promise.resolve().then(() => {
      if (entry.fans.size || map.get(key) != entry) return;
      map.delete(key);
      entry.close();
    });
  };
}

/** The last value of a held source (`undefined` when nothing holds it or nothing arrived yet). */
export const last = (client: RealtimeClient, key: string): unknown => entries.get(client)?.get(key)?.last;

/** Registry keys: messages and online counts of a topic. */
export const messagesKey = (topic: string) => 'm' + topic;
export const countKey = (topic: string) => 'c' + topic;

/** Hold the messages of `topic` (one `client.subscribe` shared by every holder). */
export const holdTopic = (client: RealtimeClient, topic: string, fan: Fan): (() => void) =>
  hold(
    client,
    messagesKey(topic),
    (emit) =>
      client.subscribe(topic, (m) => emit('onMessage', m), {
        onGap: (i) => emit('onGap', i),
        onSubscribed: (i) => emit('onSubscribed', i),
        onError: (e) => emit('onError', e),
      }).unsubscribe,
    fan,
  );

/** Hold the online count of `topic` (one `client.onlineCount` shared by every holder). */
export const holdCount = (client: RealtimeClient, topic: string, fan: Fan): (() => void) =>
  hold(client, countKey(topic), (emit) => client.onlineCount(topic, (n) => emit('onMessage', n)), fan);

/** `subscribe` and `publish` of a client, bound to it. */
export type BoundOps = Pick<RealtimeClient, 'subscribe' | 'publish'>;

const boundOps = new WeakMap<RealtimeClient, BoundOps>();

/**
 * The client's `subscribe` and `publish` bound to it (its methods live on the prototype), the
 * same functions on every call for the same client: stable dependencies for effects.
 */
export function bound(client: RealtimeClient): BoundOps {
  let b = boundOps.get(client);
  if (!b) boundOps.set(client, (b = { subscribe: client.subscribe.bind(client), publish: client.publish.bind(client) }));
  return b;
}
