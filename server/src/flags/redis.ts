import { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { flagDefinition, MAX_FLAGS, type FlagDefinition } from './definitions';
import type { StoredFlag } from './evaluate';

/** Most sync steps waiting at once; beyond, messages collapse into one reload. */
const MAX_PENDING = 100;

/** Options of the Redis flag store (`flags.redis`). */
export interface RedisFlagsOptions {
  /** Redis URL, e.g. the one given to `redisBroker`. */
  url: string;
  /** Prefix of the keys and the channel. Default `rt`: keys `rt:flags` (hash) and `rt:flags:rev`, channel `rt:flags:ctl`. */
  prefix?: string;
  /**
   * ms between checks of the set's revision (`<prefix>:flags:rev`) against the one this node
   * holds; a difference reloads the whole set. This is what repairs a lost control message
   * (pub/sub delivers at most once); a pub/sub reconnect checks at once too. Default `30000`,
   * at least `100`.
   */
  checkInterval?: number;
}

/** What the node learns from Redis: one flag changed (`null`: deleted), or the whole set was reloaded. */
export interface RedisFlagEvents {
  flag(key: string, flag: StoredFlag | null): void;
  reload(all: StoredFlag[]): void;
}

/**
 * Flag definitions shared by every node on one Redis: a hash of key → JSON (with its version),
 * a revision counter, and a control channel. Every write moves the revision by exactly 2 (the
 * definition's version, then the write and the second step in one MULTI) and publishes
 * `"<rev> <key>"`, so a node holding revision H that hears H + 2 re-reads one key; anything else
 * (a lost message, a write it missed while its pub/sub link was down) is a gap and it reloads
 * the set, read atomically with the revision. The timer and pub/sub reconnects find gaps that no
 * message reveals.
 */
export class RedisFlagSync {
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly hash: string;
  private readonly rev: string;
  private readonly channel: string;
  /** The revision the local set reflects; `-1` before the first load. */
  private held = -1;
  /** One Redis step at a time (message, check, reload), so a reload and a re-read never interleave. */
  private chain: Promise<void> = Promise.resolve();
  /** Steps waiting in `chain`; past MAX_PENDING a message becomes one reload (bounded). */
  private pending = 0;
  private reloadQueued = false;
  private timer?: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(
    options: RedisFlagsOptions,
    private readonly logger: Logger,
    private readonly events: RedisFlagEvents,
  ) {
    if (options === null || typeof options !== 'object' || typeof options.url !== 'string' || options.url === '') throw new TypeError('flags.redis.url: must be a Redis URL');
    const prefix = options.prefix ?? 'rt';
    if (typeof prefix !== 'string' || prefix === '') throw new TypeError('flags.redis.prefix: must be a non-empty string');
    const checkInterval = options.checkInterval ?? 30_000;
    if (typeof checkInterval !== 'number' || !Number.isFinite(checkInterval) || checkInterval < 100) throw new TypeError('flags.redis.checkInterval: must be a number of ms >= 100');
    this.hash = `${prefix}:flags`;
    this.rev = `${this.hash}:rev`;
    this.channel = `${prefix}:flags:ctl`;
    this.cmd = new Redis(options.url, { lazyConnect: false, maxRetriesPerRequest: 2 });
    this.sub = new Redis(options.url, { lazyConnect: false });
    this.cmd.on('error', (e) => this.logger.warn(`flags redis: ${e.message}`));
    this.sub.on('error', (e) => this.logger.warn(`flags redis (pub/sub): ${e.message}`));
    this.sub.on('message', (_channel: string, text: string) => this.heard(text));
    // Messages published while the pub/sub link was down are lost: check once it is back.
    this.sub.on('ready', () => this.held >= 0 && this.check());
    this.timer = setInterval(() => this.check(), checkInterval);
    this.timer.unref?.();
  }

  /** Subscribe to the control channel and read every definition (with the revision, atomically). */
  async load(): Promise<StoredFlag[]> {
    await this.sub.subscribe(this.channel);
    // In the chain, so messages heard meanwhile are judged against the revision it read.
    return new Promise((resolve, reject) => this.step(() => this.readAll().then(resolve, reject)));
  }

  async put(def: FlagDefinition): Promise<StoredFlag> {
    if ((await this.cmd.hlen(this.hash)) >= MAX_FLAGS && !(await this.cmd.hexists(this.hash, def.key))) throw new RangeError(`at most ${MAX_FLAGS} flags`);
    const version = await this.cmd.incr(this.rev);
    const stored = { ...def, version };
    await this.commit(def.key, this.cmd.multi().hset(this.hash, def.key, JSON.stringify(stored)));
    return stored;
  }

  async delete(key: string): Promise<boolean> {
    await this.cmd.incr(this.rev);
    return (await this.commit(key, this.cmd.multi().hdel(this.hash, key))) > 0;
  }

  /**
   * Run one write (`multi`) with the revision's second step, then announce it; the write's own
   * result. A reader's atomic snapshot taken between the two steps holds the old revision, so the
   * write shows as a gap even if its message is lost.
   */
  private async commit(key: string, multi: ReturnType<Redis['multi']>): Promise<number> {
    const results = await multi.incr(this.rev).exec();
    const err = results?.find(([e]) => e)?.[0];
    if (!results || err) throw err ?? new Error('flags redis: write aborted');
    await this.cmd.publish(this.channel, `${results[1]![1] as number} ${key}`);
    return results[0]![1] as number;
  }

  /** A control message: the next revision re-reads its key; anything else reloads. */
  private heard(text: string): void {
    const space = text.indexOf(' ');
    const rev = Number(text.slice(0, space));
    const key = text.slice(space + 1);
    if (space < 1 || !Number.isSafeInteger(rev)) return this.logger.warn(`flags redis: ignored a control message "${text.slice(0, 64)}"`);
    if (this.pending >= MAX_PENDING) return this.reloadSoon();
    this.step(async () => {
      if (this.held < 0 || rev <= this.held) return; // before the load, or a reload covered it
      if (rev !== this.held + 2) return this.reloadNow();
      const flag = await this.read(key);
      this.held = rev;
      this.events.flag(key, flag);
    });
  }

  /** Compare Redis's revision with ours; reload on a difference. */
  private check(): void {
    if (this.pending >= MAX_PENDING) return;
    this.step(async () => {
      if (this.held < 0) return;
      const rev = Number((await this.cmd.get(this.rev)) ?? 0);
      if (rev !== this.held) await this.reloadNow();
    });
  }

  private reloadSoon(): void {
    if (this.reloadQueued) return;
    this.reloadQueued = true;
    this.step(async () => {
      this.reloadQueued = false;
      await this.reloadNow();
    });
  }

  private async reloadNow(): Promise<void> {
    const before = this.held;
    const all = await this.readAll();
    this.logger.warn(`flags redis: revision gap (held ${before}, now ${this.held}): reloaded ${all.length} flags`);
    this.events.reload(all);
  }

  private step(task: () => Promise<void>): void {
    if (this.closed) return;
    this.pending++;
    this.chain = this.chain
      .then(() => (this.closed ? undefined : task()))
      .catch((e: unknown) => this.logger.error('flags redis: sync step failed (the next check retries)', e))
      .finally(() => void this.pending--);
  }

  /** Every definition and the revision they reflect, in one transaction. */
  private async readAll(): Promise<StoredFlag[]> {
    const results = await this.cmd.multi().get(this.rev).hgetall(this.hash).exec();
    const err = results?.find(([e]) => e)?.[0];
    if (!results || err) throw err ?? new Error('flags redis: read aborted');
    this.held = Number(results[0]![1] ?? 0);
    const all = results[1]![1] as Record<string, string>;
    const out: StoredFlag[] = [];
    for (const [key, text] of Object.entries(all)) {
      const flag = this.parse(key, text);
      if (flag) out.push(flag);
    }
    return out;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
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
