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

/**
 * One handler's hold on a topic, and the {@link Subscription} the app gets: one object, its
 * getters on the prototype (an app with thousands of subscriptions holds one closure for each).
 */
class Entry implements Subscription {
  /** Refused or unsubscribed. */
  done_?: boolean;
  /** The last validation, so the next message waits its turn. */
  queue_?: Promise<unknown>;
  /** Messages validating or waiting to (at most `MAX_VALIDATING`). */
  waiting_?: number;

  constructor(
    readonly topic: string,
    readonly fn_: MessageHandler,
    readonly opts_: SubscribeOptions | undefined,
    private readonly owner_: Subscriptions,
  ) {}

  get recovered(): boolean | undefined {
    return this.done_ ? undefined : this.owner_.topics_.get(this.topic)?.recovered_;
  }

  get state(): SubscriptionState {
    return this.done_ ? 'unsubscribed' : this.owner_.topics_.get(this.topic)?.live_ ? 'subscribed' : 'subscribing';
  }

  /**
   * A bound function, so `const { unsubscribe } = client.subscribe(…)` works; made when read, not
   * held by every subscription (56 B each, bench/mem.mjs).
   */
  get unsubscribe(): () => void {
    return () => this.owner_.leave_(this);
  }
}

/** The handlers of one topic, with the result of its last confirmation (`undefined` while none). */
type Topic = Set<Entry> & { recovered_?: boolean; live_?: boolean };

/** The client events subscriptions emit. */
export interface SubscriptionEvents {
  message: Publication;
  subscribed: SubscribedInfo;
  gap: GapInfo;
  error: RealtimeError;
}

/** What subscriptions need of the client (the client itself: no callbacks per client). */
export interface SubscriptionHooks {
  /** Call an app callback; thrown errors are reported, never propagated. */
  guard_<A>(fn: ((arg: A) => void) | undefined, arg: A): void;
  /** The client's events: `message` (every delivered message, once, whatever its streams), `subscribed`, `gap`. */
  emit_<K extends keyof SubscriptionEvents>(type: K, event: SubscriptionEvents[K]): void;
  /** The first handler of `topic` arrived: send `sub`. */
  sub_(topic: string): void;
  /** The last handler of `topic` left: send `unsub`. */
  unsub_(topic: string): void;
}

/** Messages one handler's schema may have in validation at once; beyond, each is an `invalid_payload` error. */
const MAX_VALIDATING = 1000;

/** How many recent message ids are remembered to drop a message arriving on a second stream. */
const RECENT_IDS = 1000;

const isPersonal = (stream: string) => /^(user|device):/.test(stream);

/**
 * The empty map every client reads until it writes its first entry: an empty Map costs ~180 B of
 * heap, and many clients never subscribe (bench/mem.mjs). Only read and deleted from, never set.
 */
const NONE = new Map<never, never>();

/** No personal streams: shared, like {@link NONE}. */
export const NO_STREAMS: readonly string[] = [];

/**
 * Topics, their handlers and the last position delivered per stream; in-order, de-duplicated
 * delivery. Methods on the prototype: a client pays for the maps, not for closures.
 */
export class Subscriptions {
  /** Topics with at least one handler (the shared empty map until the first: {@link topicsW_}). */
  topics_: Map<string, Topic> = NONE;
  /**
   * Last position delivered per stream, to resume from: subscribed topics, personal streams, and
   * positions restored from storage (a topic's is dropped when its last handler leaves). The
   * shared empty map until the first is set ({@link setPosition_}).
   */
  positions_: Map<string, StreamPosition> = NONE;
  /**
   * This connection's own personal streams: those the last `connect` result named for its `user`
   * and `device`. With the subscribed topics, the only streams whose messages are delivered.
   */
  granted_: readonly string[] = NO_STREAMS;
  /**
   * Recent ids, bounded: a Set iterates in insertion order, so its first id is the oldest. Made
   * on the first message that can arrive twice (most clients never get one).
   */
  private recent_?: Set<string>;

  constructor(private readonly hooks_: SubscriptionHooks) {}

  add_(topic: string, fn: MessageHandler, opts?: SubscribeOptions): Subscription {
    const entry = new Entry(topic, fn, opts, this);
    let t = this.topics_.get(topic);
    const first = !t;
    if (!t) (this.topics_ == NONE ? (this.topics_ = new Map()) : this.topics_).set(topic, (t = new Set()));
    t.add(entry);
    if (first) this.hooks_.sub_(topic);
    return entry;
  }

  /** `entry` stops; the last handler of a topic leaving unsubscribes. */
  leave_(entry: Entry): void {
    const topic = entry.topic;
    const cur = this.topics_.get(topic);
    if (entry.done_ || !cur) return;
    entry.done_ = true;
    cur.delete(entry);
    if (cur.size) return;
    this.forget_(topic);
    this.hooks_.unsub_(topic);
  }

  /** Positions of the personal streams (`user:…`, `device:…`), for `connect.streams`. */
  personal_(): Record<string, StreamPosition> | undefined {
    let out: Record<string, StreamPosition> | undefined;
    // The live position objects: `connect` is encoded at once, before anything can move them.
    for (const [s, p] of this.positions_) if (isPersonal(s)) (out ??= {})[s] = p;
    return out;
  }

  /** Apply a `sub` reply (or a personal stream of the `connect` reply): replay, then report. */
  recover_(stream: string, r: SubscribeResult, since: StreamPosition | undefined): void {
    const t = this.topics_.get(stream);
    if (!t && !this.granted_.includes(stream)) return; // unsubscribed while the reply was on its way
    // Malformed: throws, reported by the client as `bad_frame`.
    if (!isPosition(r)) throw r;
    let pos = this.positions_.get(stream);
    if (!pos || pos.epoch !== r.epoch) {
      this.setPosition_(stream, (pos = { epoch: r.epoch, offset: since && since.epoch === r.epoch ? since.offset : 0 }));
    }
    // Only well-formed messages of this stream are replayed; anything else is a gap.
    let recovered = r.recovered !== false;
    if (Array.isArray(r.pubs)) {
      for (const m of r.pubs) {
        if (isPublication(m) && m.topic == stream) this.deliver_(m, true);
        else recovered = false;
      }
    }
    if (pos.offset < r.offset) pos.offset = r.offset;
    const info: SubscribedInfo = { topic: stream, recovered };
    if (t) {
      t.live_ = true;
      t.recovered_ = recovered;
      for (const e of t) this.hooks_.guard_(e.opts_?.onSubscribed, info);
    }
    this.hooks_.emit_('subscribed', info);
    if (!recovered) this.gap_(stream, 'not_recovered');
  }

  /** The link is gone: every topic is `subscribing` again until its next confirmation. */
  offline_(): void {
    for (const t of this.topics_.values()) t.live_ = false;
  }

  /** The server refused `topic`: its handlers get the error and the subscription ends. */
  refuse_(topic: string, error: RealtimeError): void {
    const t = this.topics_.get(topic);
    if (!t) return;
    this.forget_(topic);
    for (const e of t) {
      e.done_ = true;
      this.hooks_.guard_(e.opts_?.onError, error);
    }
  }

  /**
   * Deliver one live message, to the streams of it that are ours (its `topic`, the `also` ones)
   * and new there (offset past the last one delivered); a message with none is dropped.
   *
   * The hot path, once per message. Offsets de-duplicate within a stream (the primary one and
   * each `also` one); ids are only remembered and checked for messages that can arrive twice:
   * those on several streams (`also`) and replays.
   */
  deliver_(m: Publication, replayed?: boolean): void {
    const stream = m.topic;
    const positions = this.positions_;
    let fresh = this.ours_(stream);
    const pos = positions.get(stream);
    if (!fresh) {
      // not ours: only its `also` streams may be
    } else if (!pos) this.setPosition_(stream, { epoch: m.epoch, offset: m.offset });
    else if (pos.epoch !== m.epoch) {
      pos.epoch = m.epoch;
      pos.offset = m.offset;
      this.gap_(stream, 'epoch_changed');
    } else if (m.offset <= pos.offset) fresh = false; // already delivered
    else {
      if (m.offset > pos.offset + 1) this.gap_(stream, 'offset_jump');
      pos.offset = m.offset;
    }
    const also = m.also;
    const more: string[] = [];
    for (const s in also) {
      const offset = also[s];
      if (s == stream || !this.ours_(s) || !isInt(offset)) continue;
      const p = positions.get(s);
      if (p) {
        if (offset <= p.offset) continue; // already delivered there
        p.offset = offset;
      }
      more.push(s);
    }
    if (!fresh && !more.length) return; // nothing of ours, or nothing new
    if (fresh) this.dispatch_(stream, m);
    // Already delivered on another stream (a recovery replays it once per stream): only this
    // stream's handlers had not had it.
    if ((also || replayed) && this.seen_(m.id)) return;
    for (const s of more) this.dispatch_(s, m);
    this.hooks_.emit_('message', m);
  }

  /** Record the position of `stream` (the first one makes this client's own map). */
  setPosition_(stream: string, p: StreamPosition): void {
    (this.positions_ == NONE ? (this.positions_ = new Map()) : this.positions_).set(stream, p);
  }

  /** A subscribed topic or one of this connection's own personal streams. */
  private ours_(stream: string): boolean {
    return this.topics_.has(stream) || this.granted_.includes(stream);
  }

  /** Drop `topic` and, unless personal, its position. */
  private forget_(topic: string): void {
    this.topics_.delete(topic);
    if (!isPersonal(topic)) this.positions_.delete(topic);
  }

  private seen_(id: string): boolean {
    const recent = this.recent_ || (this.recent_ = new Set());
    if (recent.has(id)) return true;
    recent.add(id);
    if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value!);
    return false;
  }

  private gap_(topic: string, reason: GapInfo['reason']): void {
    const info: GapInfo = { topic, reason };
    const t = this.topics_.get(topic);
    if (t) {
      t.recovered_ = false;
      for (const e of t) this.hooks_.guard_(e.opts_?.onGap, info);
    }
    this.hooks_.emit_('gap', info);
  }

  private dispatch_(stream: string, m: Publication): void {
    const t = this.topics_.get(stream);
    if (!t) return;
    for (const e of t) {
      if (e.opts_?.schema) this.validated_(e, m, e.opts_.schema);
      else this.hooks_.guard_(e.fn_, m);
    }
  }

  /**
   * Hand `m` to `e` once its schema passed it (with the validated value), else report it. Always
   * a microtask later, one message at a time per handler, so order holds with async validators too.
   */
  private validated_(e: Entry, m: Publication, schema: StandardSchemaV1): void {
    const fail = (cause: unknown) => this.hooks_.emit_('error', new RealtimeError('invalid_payload', m.topic + ': invalid payload', cause));
    // Bounded: a validator that never settles must not hold every later message.
    if (e.waiting_! >= MAX_VALIDATING) return fail('validation backlog');
    e.waiting_ = (e.waiting_ || 0) + 1;
    e.queue_ = (e.queue_ || Promise.resolve())
      .then(() => schema['~standard'].validate(m.data))
      .then((r) => e.done_ || (r.issues ? fail(r.issues) : this.hooks_.guard_(e.fn_, { ...m, data: r.value })), fail)
      .then(() => e.waiting_!--);
  }
}
