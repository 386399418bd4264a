import { isInt, isPosition, isPublication } from '../protocol/codec';
import type { Publication, StreamPosition, SubscribeResult } from '../protocol/frames';
import { RealtimeError } from './errors';
import type { StandardSchemaV1 } from './schema';

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
  /**
   * Check each message's `data` with any Standard Schema validator (zod, valibot, ArkType, …)
   * before this handler sees it: the handler gets the validated (possibly transformed) value; an
   * invalid payload (or a validator that throws) is an `error` event (`invalid_payload`, the
   * issues as `cause`), never a handler call. The handler is called a microtask after the message
   * arrives, in message order also with asynchronous validators; at most 1000 payloads per
   * handler wait for validation (beyond, each is an `invalid_payload` error with cause
   * `'validation backlog'`). Default: none.
   */
  schema?: StandardSchemaV1;
}

/** One handler's hold on a topic. */
/**
 * Where one handler's subscription stands: `subscribing` until the server confirms it (and again
 * while the client reconnects or retries it), `subscribed`, and `unsubscribed` once it was
 * refused or `unsubscribe()` was called (final).
 */
export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

export interface Subscription {
  readonly topic: string;
  /** See {@link SubscriptionState}. */
  readonly state: SubscriptionState;
  /**
   * Whether the last (re)subscription recovered every missed message (`false`: a gap, refetch);
   * `undefined` until the server first confirms, and after a refusal or `unsubscribe()`.
   */
  readonly recovered: boolean | undefined;
  /** Stop this handler; the last handler of a topic leaving unsubscribes on the server. Idempotent. */
  unsubscribe(): void;
}

/** What a handle needs of the subscriptions that made it. */
interface Owner {
  readonly topics: Map<string, Topic>;
  leave(entry: Entry): void;
}

/**
 * One handler's hold on a topic, and the {@link Subscription} the app gets: one object, its
 * getters on the prototype (an app with thousands of subscriptions holds one closure for each).
 */
class Entry implements Subscription {
  /** Refused or unsubscribed. */
  done?: boolean;
  /** The last validation, so the next message waits its turn. */
  queue?: Promise<unknown>;
  /** Messages validating or waiting to (at most `MAX_VALIDATING`). */
  waiting?: number;

  constructor(
    readonly topic: string,
    readonly fn: MessageHandler,
    readonly opts: SubscribeOptions | undefined,
    private readonly owner_: Owner,
  ) {}

  get recovered(): boolean | undefined {
    return this.done ? undefined : this.owner_.topics.get(this.topic)?.recovered;
  }

  get state(): SubscriptionState {
    return this.done ? 'unsubscribed' : this.owner_.topics.get(this.topic)?.live ? 'subscribed' : 'subscribing';
  }

  /** An own function, so `const { unsubscribe } = client.subscribe(…)` works. */
  readonly unsubscribe = (): void => this.owner_.leave(this);
}

/** The handlers of one topic, with the result of its last confirmation (`undefined` while none). */
type Topic = Set<Entry> & { recovered?: boolean; live?: boolean };

/** The client events subscriptions emit. */
export interface SubscriptionEvents {
  message: Publication;
  subscribed: SubscribedInfo;
  gap: GapInfo;
  error: RealtimeError;
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
  /** Whether the app still holds a subscription to `topic`. */
  has(topic: string): boolean;
  /**
   * Last position delivered per stream, to resume from: subscribed topics, personal streams, and
   * positions restored from storage (a topic's is dropped when its last handler leaves).
   */
  readonly positions: Map<string, StreamPosition>;
  /**
   * This connection's own personal streams: those the last `connect` result named for its `user`
   * and `device`. With the subscribed topics, the only streams whose messages are delivered.
   */
  readonly granted: Set<string>;
  /** Positions of the personal streams (`user:…`, `device:…`), for `connect.streams`. */
  personal(): Record<string, StreamPosition> | undefined;
  /** Apply a `sub` reply (or a personal stream of the `connect` reply): replay, then report. */
  recover(stream: string, result: SubscribeResult, since: StreamPosition | undefined): void;
  /** The link is gone: every topic is `subscribing` again until its next confirmation. */
  offline(): void;
  /** The server refused `topic`: its handlers get the error and the subscription ends. */
  refuse(topic: string, error: RealtimeError): void;
  /**
   * Deliver one live message, to the streams of it that are ours (its `topic`, the `also` ones)
   * and new there (offset past the last one delivered); a message with none is dropped.
   */
  deliver(m: Publication): void;
}

/** Messages one handler's schema may have in validation at once; beyond, each is an `invalid_payload` error. */
const MAX_VALIDATING = 1000;

/** How many recent message ids are remembered to drop a message arriving on a second stream. */
const RECENT_IDS = 1000;

const isPersonal = (stream: string) => /^(user|device):/.test(stream);

export function createSubscriptions(hooks: SubscriptionHooks): Subscriptions {
  const topics = new Map<string, Topic>();
  const positions = new Map<string, StreamPosition>();
  const owner: Owner = {
    topics,
    leave(entry) {
      const topic = entry.topic;
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
  const granted = new Set<string>();
  const ours = (stream: string) => topics.has(stream) || granted.has(stream);
  // Recent ids, bounded: a Set iterates in insertion order, so its first id is the oldest.
  // Made on the first message that can arrive twice (most clients never get one).
  let recent: Set<string> | undefined;
  const seen = (id: string) => {
    recent ??= new Set();
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
    if (!t) return;
    for (const e of t) {
      if (e.opts?.schema) validated(e, m, e.opts.schema);
      else hooks.guard(e.fn, m);
    }
  };

  /**
   * Hand `m` to `e` once its schema passed it (with the validated value), else report it. Always
   * a microtask later, one message at a time per handler, so order holds with async validators too.
   */
  const validated = (e: Entry, m: Publication, schema: StandardSchemaV1) => {
    const fail = (cause: unknown) => hooks.emit('error', new RealtimeError('invalid_payload', m.topic + ': invalid payload', cause));
    // Bounded: a validator that never settles must not hold every later message.
    if (e.waiting! >= MAX_VALIDATING) return fail('validation backlog');
    e.waiting = (e.waiting || 0) + 1;
    e.queue = (e.queue || Promise.resolve())
      .then(() => schema['~standard'].validate(m.data))
      .then((r) => e.done || (r.issues ? fail(r.issues) : hooks.guard(e.fn, { ...m, data: r.value })), fail)
      .then(() => e.waiting!--);
  };


  /**
   * The hot path, once per message. Only our streams count: subscribed topics and granted personal
   * streams. Offsets de-duplicate within a stream (the primary one and each `also` one); ids are
   * only remembered and checked for messages that can arrive twice: those on several streams
   * (`also`) and replays.
   */
  const deliver = (m: Publication, replayed?: boolean) => {
    const stream = m.topic;
    let fresh = ours(stream);
    const pos = positions.get(stream);
    if (!fresh) {
      // not ours: only its `also` streams may be
    } else if (!pos) positions.set(stream, { epoch: m.epoch, offset: m.offset });
    else if (pos.epoch !== m.epoch) {
      pos.epoch = m.epoch;
      pos.offset = m.offset;
      gap(stream, 'epoch_changed');
    } else if (m.offset <= pos.offset) fresh = false; // already delivered
    else {
      if (m.offset > pos.offset + 1) gap(stream, 'offset_jump');
      pos.offset = m.offset;
    }
    const also = m.also;
    const more: string[] = [];
    for (const s in also) {
      const offset = also[s];
      if (s == stream || !ours(s) || !isInt(offset)) continue;
      const p = positions.get(s);
      if (p) {
        if (offset <= p.offset) continue; // already delivered there
        p.offset = offset;
      }
      more.push(s);
    }
    if (!fresh && !more.length) return; // nothing of ours, or nothing new
    if (fresh) dispatch(stream, m);
    // Already delivered on another stream (a recovery replays it once per stream): only this
    // stream's handlers had not had it.
    if ((also || replayed) && seen(m.id)) return;
    for (const s of more) dispatch(s, m);
    hooks.emit('message', m);
  };

  return {
    add(topic, fn, opts) {
      const entry = new Entry(topic, fn, opts, owner);
      let t = topics.get(topic);
      const first = !t;
      if (!t) topics.set(topic, (t = new Set()));
      t.add(entry);
      if (first) hooks.sub(topic);
      return entry;
    },
    topics: () => topics.keys(),
    has: (topic: string) => topics.has(topic),
    positions,
    granted,
    personal() {
      let out: Record<string, StreamPosition> | undefined;
      // The live position objects: `connect` is encoded at once, before anything can move them.
      for (const [s, p] of positions) if (isPersonal(s)) (out ??= {})[s] = p;
      return out;
    },
    recover(stream, r, since) {
      const t = topics.get(stream);
      if (!t && !granted.has(stream)) return; // unsubscribed while the reply was on its way
      // Malformed: throws, reported by the client as `bad_frame`.
      if (!isPosition(r)) throw r;
      let pos = positions.get(stream);
      if (!pos || pos.epoch !== r.epoch) {
        positions.set(stream, (pos = { epoch: r.epoch, offset: since && since.epoch === r.epoch ? since.offset : 0 }));
      }
      // Only well-formed messages of this stream are replayed; anything else is a gap.
      let recovered = r.recovered !== false;
      if (Array.isArray(r.pubs)) {
        for (const m of r.pubs) {
          if (isPublication(m) && m.topic == stream) deliver(m, true);
          else recovered = false;
        }
      }
      if (pos.offset < r.offset) pos.offset = r.offset;
      const info: SubscribedInfo = { topic: stream, recovered };
      if (t) {
        t.live = true;
        t.recovered = info.recovered;
        for (const e of t) hooks.guard(e.opts?.onSubscribed, info);
      }
      hooks.emit('subscribed', info);
      if (!info.recovered) gap(stream, 'not_recovered');
    },
    offline() {
      for (const t of topics.values()) t.live = false;
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
