/** Receives pushed online counts. */
export interface CountWatcher {
  sendCount(topic: string, users: number, connections: number): void;
}

/** Online count of a topic: distinct users and connections subscribed to it. */
export interface OnlineCount {
  users: number;
  connections: number;
}

interface TopicPresence {
  /** Subscribed connections and their user (null when anonymous). */
  members: Map<object, string | null>;
  /** Subscribed connections per user id. */
  users: Map<string, number>;
  watchers: Set<CountWatcher>;
  lastSent: number;
  dirty: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Online counts per (app, topic): connections subscribed to a topic are online in it. Changes are
 * pushed to watchers at most once per `interval` ms per topic; a trailing push always carries the
 * final value.
 */
export class Presence {
  private readonly topics = new Map<string, TopicPresence>();

  constructor(
    private readonly interval: number,
    private readonly now: () => number = Date.now,
  ) {}

  join(app: string, topic: string, member: object, user: string | null): void {
    const p = this.entry(app, topic);
    if (p.members.has(member)) return;
    p.members.set(member, user);
    if (user !== null) p.users.set(user, (p.users.get(user) ?? 0) + 1);
    this.changed(p, topic);
  }

  leave(app: string, topic: string, member: object): void {
    const key = keyOf(app, topic);
    const p = this.topics.get(key);
    if (!p || !p.members.has(member)) return;
    const user = p.members.get(member)!;
    p.members.delete(member);
    if (user !== null) {
      const n = (p.users.get(user) ?? 1) - 1;
      if (n > 0) p.users.set(user, n);
      else p.users.delete(user);
    }
    this.changed(p, topic);
    this.forgetIfIdle(key, p);
  }

  /** Start pushing counts of `topic` to `watcher`; returns the current count. */
  watch(app: string, topic: string, watcher: CountWatcher): OnlineCount {
    const p = this.entry(app, topic);
    p.watchers.add(watcher);
    return countOf(p);
  }

  unwatch(app: string, topic: string, watcher: CountWatcher): void {
    const key = keyOf(app, topic);
    const p = this.topics.get(key);
    if (!p) return;
    p.watchers.delete(watcher);
    this.forgetIfIdle(key, p);
  }

  count(app: string, topic: string): OnlineCount {
    const p = this.topics.get(keyOf(app, topic));
    return p ? countOf(p) : { users: 0, connections: 0 };
  }

  close(): void {
    for (const p of this.topics.values()) clearTimeout(p.timer);
    this.topics.clear();
  }

  private changed(p: TopicPresence, topic: string): void {
    if (p.watchers.size === 0) return;
    p.dirty = true;
    if (p.timer) return;
    const wait = p.lastSent + this.interval - this.now();
    if (wait <= 0) this.push(p, topic);
    else {
      p.timer = setTimeout(() => {
        p.timer = undefined;
        this.push(p, topic);
      }, wait);
      p.timer.unref?.();
    }
  }

  private push(p: TopicPresence, topic: string): void {
    if (!p.dirty) return;
    p.dirty = false;
    p.lastSent = this.now();
    const { users, connections } = countOf(p);
    for (const w of p.watchers) {
      try {
        w.sendCount(topic, users, connections);
      } catch {
        // a watcher failing to send must not stop the others
      }
    }
  }

  private forgetIfIdle(key: string, p: TopicPresence): void {
    if (p.members.size === 0 && p.watchers.size === 0) {
      clearTimeout(p.timer);
      this.topics.delete(key);
    }
  }

  private entry(app: string, topic: string): TopicPresence {
    const key = keyOf(app, topic);
    let p = this.topics.get(key);
    if (!p) {
      p = { members: new Map(), users: new Map(), watchers: new Set(), lastSent: 0, dirty: false };
      this.topics.set(key, p);
    }
    return p;
  }
}

const keyOf = (app: string, topic: string): string => `${app}\u0000${topic}`;
const countOf = (p: TopicPresence): OnlineCount => ({ users: p.users.size, connections: p.members.size });
