import type { Publication, StreamPosition, SubscribeResult } from '../protocol/frames';
import type { RealtimeError } from './errors';

/** A handler of the messages of one topic. */
export type MessageHandler<T = unknown> = (message: Publication<T>) => void;

/** Payload of the `subscribed` event and of {@link SubscribeOptions.onSubscribed}. */
export interface SubscribedInfo {
  topic: string;
  /** `true` when every message missed since the last position was replayed; `false`: a gap, refetch. */
  recovered: boolean;
}

/** Payload of the `gap` event and of {@link SubscribeOptions.onGap}: messages may have been missed. */
export interface GapInfo {
  topic: string;
  /**
   * `not_recovered`: the server no longer had every missed message (history trimmed or restarted);
   * `offset_jump`: a live message skipped offsets; `epoch_changed`: the stream's history was reset.
   */
  reason: 'not_recovered' | 'offset_jump' | 'epoch_changed';
}

/** Per-handler options of `client.subscribe`. */
export interface SubscribeOptions {
  /** Called each time the server confirms the subscription (first time and after every reconnect). */
  onSubscribed?(info: SubscribedInfo): void;
  /** Called when messages may have been missed: refetch the state this topic describes. */
  onGap?(info: GapInfo): void;
  /** Called when the server refuses the subscription (e.g. `forbidden`); the subscription then ends. */
  onError?(error: RealtimeError): void;
}

/** One handler's hold on a topic. */
export interface Subscription {
  readonly topic: string;
  /**
   * Whether the last (re)subscription recovered every missed message (`false`: a gap, refetch);
   * `undefined` until the server first confirms, and after a refusal or `unsubscribe()`.
   */
  readonly recovered: boolean | undefined;
  /** Stop this handler; the last handler of a topic leaving unsubscribes on the server. Idempotent. */
  unsubscribe(): void;
}

interface Entry {
  fn: MessageHandler;
  opts: SubscribeOptions | undefined;
  /** Refused or unsubscribed. */
  done?: boolean;
}

/** The handlers of one topic, with the result of its last confirmation (`undefined` while none). */
type Topic = Set<Entry> & { recovered?: boolean };

/** The client events subscriptions emit. */
export interface SubscriptionEvents {
  message: Publication;
  subscribed: SubscribedInfo;
  gap: GapInfo;
}

export interface SubscriptionHooks {
  /** Call an app callback; thrown errors are reported, never propagated. */
  guard<A>(fn: ((arg: A) => void) | undefined, arg: A): void;
  /** The client's events: `message` (every delivered message, once, whatever its streams), `subscribed`, `gap`. */
  emit<K extends keyof SubscriptionEvents>(type: K, event: SubscriptionEvents[K]): void;
  /** The first handler of `topic` arrived: send `sub`. */
  sub(topic: string): void;
  /** The last handler of `topic` left: send `unsub`. */
  unsub(topic: string): void;
}

/** Topics, their handlers and the last position delivered per stream; in-order, de-duplicated delivery. */
export interface Subscriptions {
  add(topic: string, fn: MessageHandler, opts?: SubscribeOptions): Subscription;
  /** Topics with at least one handler. */
  topics(): IterableIterator<string>;
  /**
   * Last position delivered per stream, to resume from: subscribed topics, personal streams, and
   * positions restored from storage (a topic's is dropped when its last handler leaves).
   */
  readonly positions: Map<string, StreamPosition>;
  /** Positions of the personal streams (`user:…`, `device:…`), for `connect.streams`. */
  personal(): Record<string, StreamPosition> | undefined;
  /** Apply a `sub` reply (or a personal stream of the `connect` reply): replay, then report. */
  recover(stream: string, result: SubscribeResult, since: StreamPosition | undefined): void;
  /** The server refused `topic`: its handlers get the error and the subscription ends. */
  refuse(topic: string, error: RealtimeError): void;
  /** Deliver one live message. */
  deliver(m: Publication): void;
}

/** How many recent message ids are remembered to drop a message arriving on a second stream. */
const RECENT_IDS = 1000;

const isPersonal = (stream: string) => /^(user|device):/.test(stream);

export function createSubscriptions(hooks: SubscriptionHooks): Subscriptions {
  const topics = new Map<string, Topic>();
  const positions = new Map<string, StreamPosition>();
  // Recent ids, bounded: a Set iterates in insertion order, so its first id is the oldest.
  const recent = new Set<string>();
  const seen = (id: string) => {
    if (recent.has(id)) return true;
    recent.add(id);
    if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value!);
    return false;
  };

  const gap = (topic: string, reason: GapInfo['reason']) => {
    const info: GapInfo = { topic, reason };
    const t = topics.get(topic);
    if (t) {
      t.recovered = false;
      for (const e of t) hooks.guard(e.opts?.onGap, info);
    }
    hooks.emit('gap', info);
  };

  const dispatch = (stream: string, m: Publication) => {
    const t = topics.get(stream);
    if (t) for (const e of t) hooks.guard(e.fn, m);
  };

  /**
   * The hot path, once per message. Offsets de-duplicate within a stream; ids are only remembered
   * and checked for messages that can arrive twice: those on several streams (`also`) and replays.
   */
  const deliver = (m: Publication, replayed?: boolean) => {
    const stream = m.topic;
    const pos = positions.get(stream);
    if (pos) {
      if (pos.epoch === m.epoch) {
        if (m.offset <= pos.offset) return; // already delivered
        if (m.offset > pos.offset + 1) gap(stream, 'offset_jump');
      } else {
        pos.epoch = m.epoch;
        gap(stream, 'epoch_changed');
      }
      pos.offset = m.offset;
    } else if (topics.has(stream) || isPersonal(stream)) {
      positions.set(stream, { epoch: m.epoch, offset: m.offset });
    }
    const also = m.also;
    if (also) {
      for (const s in also) {
        const p = positions.get(s);
        const offset = also[s]!;
        if (p && offset > p.offset) p.offset = offset;
      }
    }
    dispatch(stream, m);
    // Already delivered on another stream (a recovery replays it once per stream): only this
    // stream's handlers had not had it.
    if ((also || replayed) && seen(m.id)) return;
    if (also) for (const s in also) dispatch(s, m);
    hooks.emit('message', m);
  };

  return {
    add(topic, fn, opts) {
      const entry: Entry = { fn, opts };
      let t = topics.get(topic);
      const first = !t;
      if (!t) topics.set(topic, (t = new Set()));
      t.add(entry);
      if (first) hooks.sub(topic);
      return {
        topic,
        get recovered() {
          return entry.done ? undefined : topics.get(topic)?.recovered;
        },
        unsubscribe() {
          const cur = topics.get(topic);
          if (entry.done || !cur) return;
          entry.done = true;
          cur.delete(entry);
          if (cur.size) return;
          topics.delete(topic);
          if (!isPersonal(topic)) positions.delete(topic);
          hooks.unsub(topic);
        },
      };
    },
    topics: () => topics.keys(),
    positions,
    personal() {
      let out: Record<string, StreamPosition> | undefined;
      // The live position objects: `connect` is encoded at once, before anything can move them.
      for (const [s, p] of positions) if (isPersonal(s)) (out ??= {})[s] = p;
      return out;
    },
    recover(stream, r, since) {
      const t = topics.get(stream);
      if (!t && !isPersonal(stream)) return; // unsubscribed while the reply was on its way
      let pos = positions.get(stream);
      if (!pos || pos.epoch !== r.epoch) {
        positions.set(stream, (pos = { epoch: r.epoch, offset: since && since.epoch === r.epoch ? since.offset : 0 }));
      }
      if (Array.isArray(r.pubs)) for (const m of r.pubs) deliver(m, true);
      if (pos.offset < r.offset) pos.offset = r.offset;
      const info: SubscribedInfo = { topic: stream, recovered: r.recovered !== false };
      if (t) {
        t.recovered = info.recovered;
        for (const e of t) hooks.guard(e.opts?.onSubscribed, info);
      }
      hooks.emit('subscribed', info);
      if (!info.recovered) gap(stream, 'not_recovered');
    },
    refuse(topic, error) {
      const t = topics.get(topic);
      if (!t) return;
      topics.delete(topic);
      if (!isPersonal(topic)) positions.delete(topic);
      for (const e of t) {
        e.done = true;
        hooks.guard(e.opts?.onError, error);
      }
    },
    deliver,
  };
}
