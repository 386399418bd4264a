import { StoreBusyError, type StoredEvent } from './types';

export interface WriteBufferOptions {
  /** Events held at most (buffered + being written). Beyond: `StoreBusyError` (429). */
  maxEvents: number;
  /** Flush as soon as this many events wait. */
  batchSize: number;
  /** Flush this long (ms) after the first waiting event. */
  interval: number;
  /** Write one batch in one transaction. */
  write(events: StoredEvent[]): Promise<void>;
  /** Called once each time the buffer turns full (so the bound is reported, never silent). */
  onFull(held: number): void;
}

interface Pending {
  events: StoredEvent[];
  waiters: { resolve(): void; reject(e: unknown): void }[];
}

/**
 * A bounded write buffer: uploads append to the open batch and wait for its transaction; one
 * transaction runs at a time, so a slow database makes events pile up here until `maxEvents`, then
 * uploads are refused with `StoreBusyError` (the HTTP answer is 429 with `Retry-After`) instead of
 * growing memory. Appending is O(events); each batch is written once.
 */
export class WriteBuffer {
  private open: Pending = { events: [], waiters: [] };
  private writing = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private full = false;
  rejected = 0;
  written = 0;

  constructor(private readonly o: WriteBufferOptions) {}

  /** Events waiting or being written. */
  get held(): number {
    return this.open.events.length + this.writing;
  }

  /** Retry-After (ms) while full, else 0. */
  busy(): number {
    return this.held >= this.o.maxEvents ? this.retryAfter() : 0;
  }

  push(events: StoredEvent[]): Promise<void> {
    if (this.held + events.length > this.o.maxEvents) {
      this.rejected += events.length;
      if (!this.full) {
        this.full = true;
        this.o.onFull(this.held);
      }
      return Promise.reject(new StoreBusyError(this.retryAfter()));
    }
    this.full = false;
    for (const e of events) this.open.events.push(e);
    const done = new Promise<void>((resolve, reject) => this.open.waiters.push({ resolve, reject }));
    if (this.open.events.length >= this.o.batchSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.o.interval);
    return done;
  }

  /** Write everything waiting now; resolves when it is written. */
  async flush(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  /** A second while the write in progress is short; more when batches are slow. */
  private retryAfter(): number {
    return 1000;
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.open.events.length === 0) return;
    this.running = this.drain().finally(() => (this.running = undefined));
  }

  /** Write batches one after another while any wait. */
  private async drain(): Promise<void> {
    while (this.open.events.length > 0) {
      const batch = this.open;
      this.open = { events: [], waiters: [] };
      this.writing = batch.events.length;
      try {
        await this.o.write(batch.events);
        this.written += batch.events.length;
        for (const w of batch.waiters) w.resolve();
      } catch (e) {
        for (const w of batch.waiters) w.reject(e);
      } finally {
        this.writing = 0;
      }
    }
  }

  /** Stop the timer (after a final `flush`). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
