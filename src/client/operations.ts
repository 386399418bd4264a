import type { PublishFrame, ReplyFrame, RequestFrame } from '../protocol/frames';
import { MAX_DELAY, type Timers } from '../util/timers';
import { RealtimeError, fromWire } from './errors';

/** A frame of the app's (a publish or an RPC request) without its per-link id. */
export type AppFrame = Omit<PublishFrame, 'id'> | Omit<RequestFrame, 'id'>;

/**
 * One request from the call to its end: one of the client's own (connect, sub, watch, …) or one of
 * the app's (`publish`, `request`, which carry `frame_`).
 *
 * ```
 * app:      queued ──→ sent ──→ acked (ok / fail)
 *             ↑          │ link lost: a publish is queued again (resent with its key), a request fails
 *             └──────────┘
 *           any state ──→ expired at its deadline (`timeout`), or failed with `closed`
 * internal: sent ──→ acked | expired (`timeout`) | ended silently (link lost, client closed)
 * ```
 */
export interface Op {
  resolve_(result: unknown): void;
  reject_(error: RealtimeError): void;
  /** The app's frame; absent on the client's own requests. */
  readonly frame_?: AppFrame;
  /** `frame_` encoded once, ending in `"id":0}`: sending splices in the real id (no re-encode). */
  readonly body_?: string;
  /** Request id while sent on the current link. */
  id?: number;
  /** Absolute deadline (ms, the timers' clock). */
  due_?: number;
  /** The timeout `due_` was set from: the deadline list it is in (`Infinity`: none); `undefined` once ended. */
  span_?: number;
}

/** What operations need of the client. */
export interface OperationHooks {
  /** The app's publishes changed (one added or ended): save them. */
  publishesChanged_(): void;
}

/**
 * Every request in flight and every app operation waiting for a connection, with one timer for
 * all their deadlines.
 *
 * Deadlines are kept in one list per timeout value: within a list they expire in the order they
 * were added, so adding and removing are O(1) and the one timer is armed for the earliest head.
 * A client uses few distinct timeouts (`requestTimeout`, `outbox.timeout`, per-call ones), so
 * finding the next head visits only those few lists.
 */
export class Operations {
  // Ids grow for the client's life, so a late reply from an old link never matches a new request.
  private seq_ = 0;
  /**
   * Sent on the current link, by id. Made on first use; once empty it is kept while the deadline
   * timer is armed (back-to-back requests reuse it) and dropped by the timer's next run, so an
   * idle client holds none. The deadline lists below follow the same rule.
   */
  private sent_?: Map<number, Op>;
  /** The app's operations, in call order, sent (with an `id`) or not. */
  app_?: Set<Op>;
  private lists_?: Map<number, Set<Op>>;
  private timer_: unknown;
  /** When the timer fires (`0`: not armed; a small integer, not a boxed `Infinity` per client). */
  private at_ = 0;

  constructor(
    private readonly timers_: Timers,
    /** Most app operations waiting for a connection (`outbox.size`). */
    private readonly size_: number,
    private readonly hooks_: OperationHooks,
  ) {}

  /** Send one of the client's own requests: returns the id to send it with. `timeout` in ms. */
  request_(op: Op, timeout: number): number {
    this.expireIn_(op, timeout);
    return this.send_(op);
  }

  /**
   * Track an app operation until its reply or `deadline` (absolute). When `waiting` (no
   * connection) the outbox bound applies: `outbox_full` is returned and nothing is tracked.
   */
  add_(op: Op, deadline: number, waiting: boolean): RealtimeError | undefined {
    const app = this.app_ || (this.app_ = new Set());
    if (waiting && app.size >= this.size_) return new RealtimeError('outbox_full', 'outbox full');
    app.add(op);
    // A deadline past (restored) expires on the next tick.
    this.expireIn_(op, deadline - this.timers_.now());
    if (op.frame_!.t == 'pub') this.hooks_.publishesChanged_();
  }

  /** Put an app operation on the wire: its frame with a fresh id. */
  wire_(op: Op): string {
    return op.body_!.slice(0, -2) + this.send_(op) + '}';
  }

  /** Route a reply to its request; unknown ids (never sent, expired, or from a lost link) are ignored: `false`. */
  settle_(reply: ReplyFrame): boolean {
    const op = this.sent_?.get(reply.id);
    if (op) this.end_(op, reply.error && fromWire(reply.error), reply.result);
    return !!op;
  }

  /**
   * The link is gone: the client's own requests end silently, an app publish waits to be resent
   * (same key: the server applies it once), an app request fails with `error`.
   */
  lost_(error: RealtimeError): void {
    const sent = this.sent_;
    this.sent_ = undefined;
    if (sent) {
      for (const op of sent.values()) {
        op.id = undefined;
        if (!op.frame_) this.unlist_(op);
        else if (op.frame_.t != 'pub') this.end_(op, error);
      }
    }
  }

  /** The client closed: its own requests end silently, the app's fail with `error` (publishes stay saved). */
  failAll_(error: RealtimeError): void {
    this.lost_(error);
    const app = this.app_;
    this.app_ = undefined;
    if (app) for (const op of app) this.end_(op, error);
  }

  /** Finish `op` once (a late reply after its deadline is ignored). */
  private end_(op: Op, error?: RealtimeError, result?: unknown): void {
    if (op.span_ === undefined) return;
    const sent = this.sent_;
    if (sent?.delete(op.id!) && !sent.size && !this.at_) this.sent_ = undefined;
    this.unlist_(op);
    // Saved again without it (not when closing: `app_` is gone then).
    if (this.app_?.delete(op) && op.frame_!.t == 'pub') this.hooks_.publishesChanged_();
    if (error) op.reject_(error);
    else op.resolve_(result);
  }

  private send_(op: Op): number {
    const id = (op.id = ++this.seq_);
    (this.sent_ || (this.sent_ = new Map())).set(id, op);
    return id;
  }

  // ---------------------------------------------------------------- deadlines (one timer)

  private expireIn_(op: Op, ms: number): void {
    // No deadline (the connect request, bounded by the connect timeout): in no list, no timer.
    if (ms == Infinity) return void (op.span_ = ms);
    const span = (op.span_ = Math.min(Math.max(ms, 0), MAX_DELAY));
    const lists = this.lists_ || (this.lists_ = new Map());
    const list = lists.get(span) || new Set();
    lists.set(span, list.add(op));
    this.arm_((op.due_ = this.timers_.now() + span));
  }

  private unlist_(op: Op): void {
    const span = op.span_!;
    op.span_ = undefined;
    if (span == Infinity) return;
    const list = this.lists_!.get(span)!;
    list.delete(op);
    // Emptied while the timer is armed: kept for the next request (the timer's run drops it).
    // The timer itself stays armed and fires once for nothing: clearing it here would make every
    // sequential request arm a new one (the cost this module removes).
    if (!list.size && !this.at_) this.dropList_(span);
  }

  private dropList_(span: number): void {
    this.lists_!.delete(span);
    if (!this.lists_!.size) this.lists_ = undefined;
  }

  /** Fire at `at` unless the timer already fires sooner. */
  private arm_(at: number): void {
    if (at == Infinity || (this.at_ && at >= this.at_)) return;
    const timers = this.timers_;
    timers.clearTimeout(this.timer_);
    this.at_ = at;
    this.timer_ = timers.setTimeout(() => this.expire_(), at - timers.now());
  }

  /** Expire what is due (the heads of the lists), then arm for the earliest deadline left. */
  private expire_(): void {
    this.at_ = 0;
    const now = this.timers_.now();
    const due: Op[] = [];
    let next = Infinity;
    // Absent when everything ended after the timer was armed for it.
    for (const [span, list] of this.lists_ || []) {
      // Emptied since the timer was armed (kept for reuse until now).
      if (!list.size) this.dropList_(span);
      for (const op of list) {
        if (op.due_! > now) {
          next = Math.min(next, op.due_!);
          break;
        }
        due.push(op);
      }
    }
    if (!this.sent_?.size) this.sent_ = undefined;
    // Ended after the scan: what a callback adds or ends meanwhile does not disturb it.
    for (const op of due) this.end_(op, new RealtimeError('timeout', op.frame_ ? 'deadline passed' : `no reply within ${op.span_} ms`));
    this.arm_(next);
  }
}
