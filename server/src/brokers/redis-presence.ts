import type { Redis } from 'ioredis';
import type { ClusterPresence, OnlineCount } from './types';

// Online members of one topic, across nodes, in one slot (`{app:topic}`):
//   :pc  hash  member (<node>:<connection>) → user id ('' when anonymous)
//   :pe  zset  member → expiry (ms)
//   :pu  hash  user id → connections of that user online here
//   :pue zset  user id → expiry (ms)
// Each node refreshes its members' expiries; a crashed node's members lapse after the TTL.

// KEYS: pc, pe, pu, pue. ARGV: member, user, expiry, key ttl ms.
const JOIN = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 and ARGV[2] ~= '' then
  redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2]) end
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
return 1
`;

// KEYS: pc, pe, pu, pue. ARGV: member.
const LEAVE = `
local user = redis.call('HGET', KEYS[1], ARGV[1])
if not user then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if user ~= '' and redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then
  redis.call('HDEL', KEYS[3], user)
  redis.call('ZREM', KEYS[4], user)
end
return 1
`;

// Drop lapsed members (and users), then count. KEYS: pc, pe, pu, pue. ARGV: now. Returns {users, connections}.
const STATS = `
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, m in ipairs(gone) do
  local user = redis.call('HGET', KEYS[1], m)
  redis.call('HDEL', KEYS[1], m)
  redis.call('ZREM', KEYS[2], m)
  if user and user ~= '' and redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then
    redis.call('HDEL', KEYS[3], user)
    redis.call('ZREM', KEYS[4], user)
  end
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, u in ipairs(lapsed) do
  redis.call('HDEL', KEYS[3], u)
  redis.call('ZREM', KEYS[4], u)
end
return {redis.call('HLEN', KEYS[3]), redis.call('HLEN', KEYS[1])}
`;

interface Scripts {
  sdkrtJoin(...keysAndArgs: string[]): Promise<number>;
  sdkrtLeave(...keysAndArgs: string[]): Promise<number>;
  sdkrtStats(...keysAndArgs: string[]): Promise<[number, number]>;
}

/** This node's members, to refresh their expiry and to remove them on a graceful stop. */
interface Local {
  app: string;
  topic: string;
  user: string;
}

/**
 * Online counts across nodes, in Redis: connections and distinct users per topic. Each node adds
 * and removes its own connections and refreshes their expiry every `ttl / 3`; after a crash its
 * connections drop out of the counts within `ttl` (default 30 s). After Redis lost its data (a
 * restart), the next refresh adds every live member again.
 */
export class RedisPresence implements ClusterPresence {
  private readonly local = new Map<string, Local>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly redis: Redis,
    private readonly key: (app: string, topic: string) => string,
    private readonly nodeId: string,
    private readonly ttl: number,
    private readonly onError: (e: unknown) => void,
  ) {
    const r = redis as Redis & Partial<Scripts>;
    if (!r.sdkrtJoin) {
      redis.defineCommand('sdkrtJoin', { numberOfKeys: 4, lua: JOIN });
      redis.defineCommand('sdkrtLeave', { numberOfKeys: 4, lua: LEAVE });
      redis.defineCommand('sdkrtStats', { numberOfKeys: 4, lua: STATS });
    }
    this.timer = setInterval(() => void this.refresh(), Math.max(100, Math.floor(ttl / 3)));
    this.timer.unref?.();
  }

  private get scripts(): Scripts {
    return this.redis as unknown as Scripts;
  }

  private keys(app: string, topic: string): string[] {
    const k = this.key(app, topic);
    return [`${k}:pc`, `${k}:pe`, `${k}:pu`, `${k}:pue`];
  }

  join(app: string, topic: string, connection: string, user: string | null): void {
    const member = `${this.nodeId}:${connection}`;
    const entry = { app, topic, user: user ?? '' };
    this.local.set(`${app}\u0000${topic}\u0000${member}`, entry);
    this.add(member, entry).catch(this.onError);
  }

  leave(app: string, topic: string, connection: string): void {
    const member = `${this.nodeId}:${connection}`;
    if (!this.local.delete(`${app}\u0000${topic}\u0000${member}`)) return;
    this.scripts.sdkrtLeave(...this.keys(app, topic), member).catch(this.onError);
  }

  async count(app: string, topic: string): Promise<OnlineCount> {
    const [users, connections] = await this.scripts.sdkrtStats(...this.keys(app, topic), String(Date.now()));
    return { users: Number(users), connections: Number(connections) };
  }

  /** Remove this node's members (a graceful stop: counts drop at once, not after the TTL). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const pipeline = this.redis.pipeline() as unknown as Scripts & { exec(): Promise<unknown> };
    for (const [k, { app, topic }] of this.local) void pipeline.sdkrtLeave(...this.keys(app, topic), k.slice(k.lastIndexOf('\u0000') + 1));
    this.local.clear();
    await pipeline.exec().catch(() => undefined);
  }

  private add(member: string, { app, topic, user }: Local): Promise<number> {
    return this.scripts.sdkrtJoin(...this.keys(app, topic), member, user, String(Date.now() + this.ttl), String(this.ttl * 2));
  }

  /** Extend every local member's expiry (and add it again if Redis lost it), in one pipeline. */
  async refresh(): Promise<void> {
    if (this.local.size === 0 || this.redis.status !== 'ready') return;
    const pipeline = this.redis.pipeline() as unknown as Scripts & { exec(): Promise<unknown> };
    const expiry = String(Date.now() + this.ttl);
    for (const [k, { app, topic, user }] of this.local) {
      void pipeline.sdkrtJoin(...this.keys(app, topic), k.slice(k.lastIndexOf('\u0000') + 1), user, expiry, String(this.ttl * 2));
    }
    await pipeline.exec().catch(this.onError);
  }
}
