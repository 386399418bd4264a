import { readFileSync, renameSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../logger';
import { MAX_FLAGS, parseFlagSet, type FlagDefinition } from './definitions';
import { nextBoundary, type StoredFlag } from './evaluate';
import type { RedisFlagSync } from './redis';

/** Longest single timer (setTimeout's bound); a later window boundary re-arms on expiry. */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * The flag definitions of one server: versioned per flag, replaced atomically, optionally loaded
 * from (and written back to) a JSON file that is watched. `onChange` hears the changed keys, and
 * an empty list when a `startAt` / `endAt` boundary passed (nothing written, results may change).
 */
export class FlagStore {
  private flags = new Map<string, StoredFlag>();
  private counter = 0;
  private watcher?: FSWatcher;
  private timer?: ReturnType<typeof setTimeout>;
  private reloadTimer?: ReturnType<typeof setTimeout>;
  private closed = false;
  private readonly listeners = new Set<(keys: string[]) => void>();
  private remote?: RedisFlagSync;

  constructor(
    private readonly file: string | undefined,
    private readonly logger: Logger,
    private readonly now: () => number,
    initial: FlagDefinition[] = [],
  ) {
    this.replace(initial);
    if (file) {
      // A bad file at start is an error the operator must see: thrown.
      this.replace(parseFlagSet(JSON.parse(readFileSync(file, 'utf8'))));
      // Watch the directory: editors replace files by rename, which ends a watch on the file itself.
      this.watcher = watch(dirname(file), (_event, name) => {
        if (name !== null && name !== basename(file)) return;
        clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => this.reload(), 50);
      });
      this.watcher.on('error', (e) => this.logger.error('flags file watch failed', e));
    }
    this.arm();
  }

  /** Every definition. */
  all(): IterableIterator<StoredFlag> {
    return this.flags.values();
  }

  get(key: string): StoredFlag | undefined {
    return this.flags.get(key);
  }

  onChange(fn: (keys: string[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Keep the definitions in Redis, shared by every node (replaces the local set with Redis's). */
  async useRedis(remote: RedisFlagSync): Promise<void> {
    this.remote = remote;
    this.replaceRemote(await remote.load());
  }

  /** The whole set as Redis holds it (first load, or a reload after a missed message): only flags whose version differs count as changed. */
  replaceRemote(all: StoredFlag[]): void {
    const next = new Map(all.map((f) => [f.key, f]));
    const keys = [...new Set([...this.flags.keys(), ...next.keys()])].filter((k) => this.flags.get(k)?.version !== next.get(k)?.version);
    this.flags = next;
    if (keys.length) this.changed(keys);
  }

  /** A definition another node wrote (or deleted: `null`); an older version than ours is ignored. */
  applyRemote(key: string, flag: StoredFlag | null): void {
    const old = this.flags.get(key);
    if (flag) {
      if (old && old.version >= flag.version) return;
      this.flags.set(key, flag);
    } else if (!this.flags.delete(key)) return;
    this.changed([key]);
  }

  /** Create or replace one flag (admin API); persisted to the file or Redis when there is one. */
  async put(def: FlagDefinition): Promise<StoredFlag> {
    if (this.remote) {
      const stored = await this.remote.put(def);
      this.applyRemote(def.key, stored);
      return stored;
    }
    if (!this.flags.has(def.key) && this.flags.size >= MAX_FLAGS) throw new RangeError(`at most ${MAX_FLAGS} flags`);
    const stored = { ...def, version: ++this.counter };
    this.flags.set(def.key, stored);
    this.persist();
    this.changed([def.key]);
    return stored;
  }

  /** Remove one flag; `false` if it did not exist. */
  async delete(key: string): Promise<boolean> {
    if (this.remote) {
      const deleted = await this.remote.delete(key);
      this.applyRemote(key, null);
      return deleted;
    }
    if (!this.flags.delete(key)) return false;
    this.persist();
    this.changed([key]);
    return true;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    clearTimeout(this.timer);
    clearTimeout(this.reloadTimer);
    this.listeners.clear();
    this.remote?.close();
  }

  /** Re-read the file; a bad edit keeps the last good set and is logged. */
  reload(): void {
    if (this.closed || !this.file) return;
    try {
      this.replace(parseFlagSet(JSON.parse(readFileSync(this.file, 'utf8'))));
    } catch (e) {
      this.logger.error(`flags file ${this.file} not reloaded, keeping the last good set: ${(e as Error).message}`);
    }
  }

  /** Swap in a whole set; only definitions that differ get a new version. */
  private replace(defs: FlagDefinition[]): void {
    const next = new Map<string, StoredFlag>();
    const changed: string[] = [];
    for (const d of defs) {
      const old = this.flags.get(d.key);
      if (old && sameDefinition(old, d)) next.set(d.key, old);
      else {
        next.set(d.key, { ...d, version: ++this.counter });
        changed.push(d.key);
      }
    }
    for (const k of this.flags.keys()) if (!next.has(k)) changed.push(k);
    this.flags = next;
    if (changed.length) this.changed(changed);
  }

  private changed(keys: string[]): void {
    this.arm();
    for (const fn of this.listeners) {
      try {
        fn(keys);
      } catch (e) {
        this.logger.error('flags change listener failed', e);
      }
    }
  }

  /** A timer for the next window boundary of any flag: nothing is written then, yet results change. */
  private arm(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    const now = this.now();
    const at = nextBoundary(this.flags.values(), now);
    if (at === undefined) return;
    const wait = Math.min(MAX_TIMER, at - now);
    this.timer = setTimeout(() => (this.now() >= at ? this.changed([]) : this.arm()), wait);
    this.timer.unref?.();
  }

  /** Write the set back to the file atomically (temporary file, then rename). */
  private persist(): void {
    if (!this.file) return;
    const tmp = join(dirname(this.file), `.${basename(this.file)}.${process.pid}.tmp`);
    const flags = [...this.flags.values()].map(({ version: _version, ...def }) => def);
    writeFileSync(tmp, JSON.stringify({ flags }, null, 2) + '\n');
    renameSync(tmp, this.file);
  }
}

function sameDefinition(a: StoredFlag, b: FlagDefinition): boolean {
  const { version: _version, ...rest } = a;
  return JSON.stringify(rest) === JSON.stringify(b);
}
