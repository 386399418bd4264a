import { isInt } from '../protocol/codec';

/** Online count of a topic: distinct users and connections subscribed to it. */
export interface OnlineCount {
  users: number;
  connections: number;
}

export interface PresenceHooks {
  guard<A>(fn: (arg: A) => void, arg: A): void;
  /** The first handler of `topic` arrived: send `watch`. */
  watch(topic: string): void;
  /** The last handler of `topic` left: send `unwatch`. */
  unwatch(topic: string): void;
}

/** Online-count watchers per topic, reference counted: one `watch` however many handlers. */
export interface Presence {
  /** Add a handler; it gets the last known count at once (synchronously) and each update. */
  add(topic: string, fn: (count: OnlineCount) => void): () => void;
  /** A `watch` reply or a `count` frame; throws on counts that are not non-negative integers. */
  update(topic: string, count: OnlineCount): void;
  /** The server refused the watch: forget the topic (its handlers stay silent). */
  refuse(topic: string): void;
  topics(): IterableIterator<string>;
}

export function createPresence(hooks: PresenceHooks): Presence {
  // Per topic: its handlers, with the last known count.
  const watched = new Map<string, Set<(count: OnlineCount) => void> & { last?: OnlineCount }>();
  return {
    add(topic, fn) {
      let w = watched.get(topic);
      const first = !w;
      if (!w) watched.set(topic, (w = new Set()));
      // A wrapper per call so the same function added twice is two holds.
      const hold = (count: OnlineCount) => fn(count);
      w.add(hold);
      if (first) hooks.watch(topic);
      else if (w.last) hooks.guard(hold, w.last);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        if (watched.get(topic) !== w || !w.delete(hold) || w.size) return;
        watched.delete(topic);
        hooks.unwatch(topic);
      };
    },
    update(topic, count) {
      const w = watched.get(topic);
      // Counts for topics not watched are dropped; malformed ones throw (reported as `bad_frame`).
      if (!w) return;
      if (!isInt(count.users) || !isInt(count.connections)) throw count;
      w.last = { users: count.users, connections: count.connections };
      for (const fn of w) hooks.guard(fn, w.last);
    },
    refuse(topic) {
      watched.delete(topic);
    },
    topics: () => watched.keys(),
  };
}
