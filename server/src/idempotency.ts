/**
 * Remembers the outcome of recent keyed operations so a resend with the same key is answered with
 * the first result instead of being applied twice. Bounded by count (oldest dropped first) and age.
 * Stores the promise, so a duplicate arriving while the first is in flight waits for it.
 */
export class IdempotencyCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly max = 10_000,
    private readonly ttl = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The remembered result for `key`, or the result of running `run` once (forgotten if it fails). */
  run(key: string, run: () => Promise<T>): Promise<T> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && t - hit.at < this.ttl) return hit.value;
    if (hit) this.entries.delete(key);
    const value = run();
    this.entries.set(key, { at: t, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    this.evict(t);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(t: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.max && t - entry.at < this.ttl) break;
      this.entries.delete(key);
    }
  }
}
