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
