import { isInt } from '../protocol/codec';

/** Online count of a topic: distinct users and connections subscribed to it. */
export interface OnlineCount {
  users: number;
  connections: number;
}

/** What presence needs of the client (the client itself). */
export interface PresenceHooks {
  guard_<A>(fn: (arg: A) => void, arg: A): void;
  /** The first handler of `topic` arrived: send `watch`. */
  watch_(topic: string): void;
  /** The last handler of `topic` left: send `unwatch`. */
  unwatch_(topic: string): void;
}

type Watchers = Set<(count: OnlineCount) => void> & { last?: OnlineCount };

/** Online-count watchers per topic, reference counted: one `watch` however many handlers. */
export class Presence {
  /** Per topic: its handlers, with the last known count. */
  readonly watched_ = new Map<string, Watchers>();

  constructor(private readonly hooks_: PresenceHooks) {}

  /** Add a handler; it gets the last known count at once (synchronously) and each update. */
  add_(topic: string, fn: (count: OnlineCount) => void): () => void {
    const watched = this.watched_;
    let w = watched.get(topic);
    const first = !w;
    if (!w) watched.set(topic, (w = new Set()));
    // A wrapper per call so the same function added twice is two holds.
    const hold = (count: OnlineCount) => fn(count);
    w.add(hold);
    if (first) this.hooks_.watch_(topic);
    else if (w.last) this.hooks_.guard_(hold, w.last);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (watched.get(topic) !== w || !w.delete(hold) || w.size) return;
      watched.delete(topic);
      this.hooks_.unwatch_(topic);
    };
  }

  /** A `watch` reply or a `count` frame; throws on counts that are not non-negative integers. */
  update_(topic: string, count: OnlineCount): void {
    const w = this.watched_.get(topic);
    // Counts for topics not watched are dropped; malformed ones throw (reported as `bad_frame`).
    if (!w) return;
    if (!isInt(count.users) || !isInt(count.connections)) throw count;
    w.last = { users: count.users, connections: count.connections };
    for (const fn of w) this.hooks_.guard_(fn, w.last);
  }
}
