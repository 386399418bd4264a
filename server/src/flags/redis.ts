import { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { flagDefinition, MAX_FLAGS, type FlagDefinition } from './definitions';
import type { StoredFlag } from './evaluate';

/** Options of the Redis flag store (`flags.redis`). */
export interface RedisFlagsOptions {
  /** Redis URL, e.g. the one given to `redisBroker`. */
  url: string;
  /** Prefix of the keys and the channel. Default `rt`: keys `rt:flags` (hash) and `rt:flags:rev`, channel `rt:flags:ctl`. */
  prefix?: string;
}

/**
 * Flag definitions shared by every node on one Redis: a hash of key → JSON (with its version),
 * versions from one counter, and a control channel naming the key each write changed. A node that
 * hears a key re-reads it, so a message carries no definition and a lost one is fixed by the next.
 */
export class RedisFlagSync {
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly hash: string;
  private readonly channel: string;

  constructor(
    options: RedisFlagsOptions,
    private readonly logger: Logger,
    private readonly onRemote: (key: string, flag: StoredFlag | null) => void,
  ) {
    const prefix = options.prefix ?? 'rt';
    this.hash = `${prefix}:flags`;
    this.channel = `${prefix}:flags:ctl`;
    this.cmd = new Redis(options.url, { lazyConnect: false, maxRetriesPerRequest: 2 });
    this.sub = new Redis(options.url, { lazyConnect: false });
    this.cmd.on('error', (e) => this.logger.warn(`flags redis: ${e.message}`));
    this.sub.on('error', (e) => this.logger.warn(`flags redis (pub/sub): ${e.message}`));
    this.sub.on('message', (_channel: string, key: string) => {
      this.read(key).then(
        (flag) => this.onRemote(key, flag),
        (e: unknown) => this.logger.error(`flags redis: reading "${key}" failed`, e),
      );
    });
  }

  /** Subscribe to the control channel and read every definition. */
  async load(): Promise<StoredFlag[]> {
    await this.sub.subscribe(this.channel);
    const all = await this.cmd.hgetall(this.hash);
    const out: StoredFlag[] = [];
    for (const [key, text] of Object.entries(all)) {
      const flag = this.parse(key, text);
      if (flag) out.push(flag);
    }
    return out;
  }

  async put(def: FlagDefinition): Promise<StoredFlag> {
    if ((await this.cmd.hlen(this.hash)) >= MAX_FLAGS && !(await this.cmd.hexists(this.hash, def.key))) throw new RangeError(`at most ${MAX_FLAGS} flags`);
    const version = await this.cmd.incr(`${this.hash}:rev`);
    const stored = { ...def, version };
    await this.cmd.hset(this.hash, def.key, JSON.stringify(stored));
    await this.cmd.publish(this.channel, def.key);
    return stored;
  }

  async delete(key: string): Promise<boolean> {
    const n = await this.cmd.hdel(this.hash, key);
    if (n > 0) await this.cmd.publish(this.channel, key);
    return n > 0;
  }

  close(): void {
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  private async read(key: string): Promise<StoredFlag | null> {
    const text = await this.cmd.hget(this.hash, key);
    return text === null ? null : this.parse(key, text);
  }

  /** A stored definition, checked like a written one (another writer may share the key space). */
  private parse(key: string, text: string): StoredFlag | null {
    try {
      const { version: v, ...raw } = JSON.parse(text) as { version?: unknown };
      const def = flagDefinition.parse(raw);
      const version = typeof v === 'number' ? v : 0;
      return def.key === key ? { ...def, version } : null;
    } catch (e) {
      this.logger.error(`flags redis: "${key}" holds an invalid definition, ignored: ${(e as Error).message}`);
      return null;
    }
  }
}
