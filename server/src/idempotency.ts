import { createHash } from 'node:crypto';

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

/**
 * The message id of a keyed publish: the same for every attempt with that app and key, so a retry
 * that reaches a stream the first attempt missed still carries the id clients de-duplicate by.
 */
export function messageIdFor(app: string, key: string): string {
  const h = createHash('sha256').update(app).update('\u0000').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A digest of what an idempotency key stands for (a request's meaningful fields, in a fixed order). */
export function fingerprintOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}
