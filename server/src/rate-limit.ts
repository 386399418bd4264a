/**
 * A token bucket: holds up to `capacity` tokens, refilled continuously at `capacity` per `per` ms.
 * Each accepted action takes one token; an empty bucket refuses and says when the next token arrives.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly ratePerMs: number;

  constructor(
    private readonly capacity: number,
    per: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
    this.ratePerMs = capacity / per;
  }

  /** Take one token; `false` when the bucket is empty. */
  take(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** ms until one token is available (0 when one is available now). */
  retryAfter(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.ratePerMs);
  }

  /** Whether the bucket is full, i.e. has been idle long enough that forgetting it changes nothing. */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }

  private refill(): void {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (t - this.last) * this.ratePerMs);
      this.last = t;
    }
  }
}

/**
 * Token buckets by key (an app, an IP, a user), at most `maxKeys` of them. A map in recency order
 * makes every operation O(1): a touched key moves to the end, and a new key beyond the bound
 * evicts the least recently used one, which has most likely refilled by then. Evictions are
 * counted (`evicted`) and reported once through `onFull` so a flood of keys is visible.
 */
export class KeyedLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  /** Keys forgotten to stay within `maxKeys`. */
  evicted = 0;

  constructor(
    private readonly limit: { requests: number; per: number },
    private readonly maxKeys = 10_000,
    private readonly onFull?: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Take one token for `key`: 0 when allowed, else the ms to wait (at least 1). */
  take(key: string): number {
    let b = this.buckets.get(key);
    if (b) this.buckets.delete(key);
    else {
      if (this.buckets.size >= this.maxKeys) {
        this.buckets.delete(this.buckets.keys().next().value!);
        if (this.evicted++ === 0) this.onFull?.();
      }
      b = new TokenBucket(this.limit.requests, this.limit.per, this.now);
    }
    this.buckets.set(key, b);
    return b.take() ? 0 : Math.max(1, b.retryAfter());
  }

  /** ms `key` has to wait before its next token, without taking one (0 when it has one). */
  peek(key: string): number {
    return this.buckets.get(key)?.retryAfter() ?? 0;
  }

  /** Keys currently held. */
  get size(): number {
    return this.buckets.size;
  }
}
