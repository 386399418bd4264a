import type { ClusterPresence } from './brokers/types';

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
  app: string;
  topic: string;
  /** The count watchers were last sent (or answered with), to push only changes. */
  last?: OnlineCount;
  /** Subscribed connections and their user (null when anonymous). */
  members: Map<PresenceMember, string | null>;
  /** Subscribed connections per user id. */
  users: Map<string, number>;
  watchers: Set<CountWatcher>;
  lastSent: number;
  dirty: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

/** A connection as presence knows it: its id names it across nodes. */
export interface PresenceMember {
  readonly id: string;
}

/**
 * Online counts per (app, topic): connections subscribed to a topic are online in it. Changes are
 * pushed to watchers at most once per `interval` ms per topic; a trailing push always carries the
 * final value. With a cluster store (the Redis broker's), counts are those of every node: local
 * changes go to the store, and topics with watchers here are re-counted every `interval` (at
 * least 100 ms), pushing only changes.
 */
export class Presence {
  private readonly topics = new Map<string, TopicPresence>();
  private readonly poll?: ReturnType<typeof setInterval>;

  constructor(
    private readonly interval: number,
    private readonly now: () => number = Date.now,
    private readonly cluster?: ClusterPresence,
  ) {
    if (cluster) {
      this.poll = setInterval(() => this.recount(), Math.max(100, interval));
      this.poll.unref?.();
    }
  }

  join(app: string, topic: string, member: PresenceMember, user: string | null): void {
    const p = this.entry(app, topic);
    if (p.members.has(member)) return;
    p.members.set(member, user);
    if (user !== null) p.users.set(user, (p.users.get(user) ?? 0) + 1);
    this.cluster?.join(app, topic, member.id, user);
    this.changed(p);
  }

  leave(app: string, topic: string, member: PresenceMember): void {
    const key = keyOf(app, topic);
    const p = this.topics.get(key);
    if (!p || !p.members.has(member)) return;
    const user = p.members.get(member)!;
    p.members.delete(member);
    this.cluster?.leave(app, topic, member.id);
    if (user !== null) {
      const n = (p.users.get(user) ?? 1) - 1;
      if (n > 0) p.users.set(user, n);
      else p.users.delete(user);
    }
    this.changed(p);
    this.forgetIfIdle(key, p);
  }

  /** Start pushing counts of `topic` to `watcher`; resolves with the current count. */
  async watch(app: string, topic: string, watcher: CountWatcher): Promise<OnlineCount> {
    const p = this.entry(app, topic);
    p.watchers.add(watcher);
    const count = await this.counted(p);
    p.last ??= count;
    return count;
  }

  unwatch(app: string, topic: string, watcher: CountWatcher): void {
    const key = keyOf(app, topic);
    const p = this.topics.get(key);
    if (!p) return;
    p.watchers.delete(watcher);
    this.forgetIfIdle(key, p);
  }

  /** This node's count of `topic` (the local connections only). */
  count(app: string, topic: string): OnlineCount {
    const p = this.topics.get(keyOf(app, topic));
    return p ? countOf(p) : { users: 0, connections: 0 };
  }

  close(): void {
    clearInterval(this.poll);
    for (const p of this.topics.values()) clearTimeout(p.timer);
    this.topics.clear();
  }

  /** The count to show: the cluster's when there is one (the local one while it is unreachable). */
  private async counted(p: TopicPresence): Promise<OnlineCount> {
    if (!this.cluster) return countOf(p);
    try {
      return await this.cluster.count(p.app, p.topic);
    } catch {
      return countOf(p);
    }
  }

  /** Cluster mode: pick up changes made on other nodes. */
  private recount(): void {
    for (const p of this.topics.values()) {
      if (p.watchers.size === 0 || p.timer) continue;
      p.dirty = true;
      this.push(p);
    }
  }

  private changed(p: TopicPresence): void {
    if (p.watchers.size === 0) return;
    p.dirty = true;
    if (p.timer) return;
    const wait = p.lastSent + this.interval - this.now();
    if (wait <= 0) this.push(p);
    else {
      p.timer = setTimeout(() => {
        p.timer = undefined;
        this.push(p);
      }, wait);
      p.timer.unref?.();
    }
  }

  private push(p: TopicPresence): void {
    if (!p.dirty) return;
    p.dirty = false;
    p.lastSent = this.now();
    if (!this.cluster) return this.send(p, countOf(p));
    void this.counted(p).then((count) => this.send(p, count));
  }

  /** Send `count` to the topic's watchers, unless it is what they last got. */
  private send(p: TopicPresence, count: OnlineCount): void {
    if (p.last && p.last.users === count.users && p.last.connections === count.connections) return;
    p.last = count;
    for (const w of p.watchers) {
      try {
        w.sendCount(p.topic, count.users, count.connections);
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
      p = { app, topic, members: new Map(), users: new Map(), watchers: new Set(), lastSent: 0, dirty: false };
      this.topics.set(key, p);
    }
    return p;
  }
}

/**
 * The map key of (app, topic): length-prefixed, so no pair of names can meet on one key. A plain
 * separator would let a client of app `shop\u0000x` on topic `y` count in app `shop`'s topic
 * `x\u0000y` (names may hold any character).
 */
const keyOf = (app: string, topic: string): string => `${app.length}:${app}:${topic}`;
const countOf = (p: TopicPresence): OnlineCount => ({ users: p.users.size, connections: p.members.size });
