/**
 * A fixed-capacity FIFO: `push` O(1) (evicting and returning the oldest when full), `shift` O(1),
 * iteration newest first. Backs the alert history and the webhook queue.
 */
export class Ring<T> {
  private readonly items: Array<T | undefined>;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Add at the tail; when full, the oldest is dropped and returned. */
  push(item: T): T | undefined {
    let evicted: T | undefined;
    if (this.count === this.capacity) {
      evicted = this.shift();
    }
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count++;
    return evicted;
  }

  /** Remove and return the oldest. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  /** Newest first. */
  *newest(): IterableIterator<T> {
    for (let i = this.count - 1; i >= 0; i--) yield this.items[(this.head + i) % this.capacity]!;
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}
