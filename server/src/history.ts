import { randomBytes } from 'node:crypto';
import type { Publication, StreamPosition, SubscribeResult } from 'sdk-realtime/protocol';

/** One stored message of a stream. The same `data` object is shared by every stream it went to. */
export interface HistoryEntry {
  id: string;
  offset: number;
  ts: number;
  data: unknown;
}

/**
 * How much history a stream keeps: at most `size` messages, none older than `ttl` ms; a recovery
 * replays at most `maxReplay` messages (beyond, `recovered: false`; default unbounded, i.e. `size`).
 */
export interface HistoryLimits {
  size: number;
  ttl: number;
  maxReplay?: number;
}

/** A fresh random history epoch (12 base64url characters). */
export function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * The bounded history of one stream. Its `epoch` is chosen when it is created; offsets start at 1
 * and grow by one per appended message. Old messages are trimmed by count and by age.
 */
export class StreamHistory {
  /** Offset of the newest message ever appended (0 when none). */
  private last = 0;
  private entries: HistoryEntry[] = [];
  /** Time of the last append or read, for idle clean-up. */
  lastActivity: number;

  constructor(
    readonly stream: string,
    private readonly limits: HistoryLimits,
    private readonly now: () => number = Date.now,
    /** The epoch of this history; a fresh random one unless the broker promised one already. */
    readonly epoch: string = newEpoch(),
  ) {
    this.lastActivity = now();
  }

  /** Offset of the newest message (0 when the stream never had one). */
  get offset(): number {
    return this.last;
  }

  /** Number of messages currently held. */
  get size(): number {
    this.trimAge();
    return this.entries.length;
  }

  /** Append a message; returns its offset in this stream. */
  append(id: string, ts: number, data: unknown): number {
    this.lastActivity = this.now();
    const offset = ++this.last;
    if (this.limits.size > 0) {
      this.entries.push({ id, offset, ts, data });
      if (this.entries.length > this.limits.size) this.entries.splice(0, this.entries.length - this.limits.size);
    }
    this.trimAge();
    return offset;
  }

  /**
   * Recovery from a client's last position, per docs/protocol.md: no `since` → nothing to replay,
   * recovered; same epoch and every message after `since.offset` still held (and at most
   * `maxReplay` of them) → those messages, recovered; anything else → no messages, not recovered.
   * Never a partial replay: a client told `recovered: false` refetches its state instead of
   * rendering a list with a hole in it.
   */
  since(since?: StreamPosition, maxReplay = Infinity): SubscribeResult {
    this.lastActivity = this.now();
    this.trimAge();
    const base = { epoch: this.epoch, offset: this.last };
    if (!since) return { ...base, recovered: true, pubs: [] };
    // Greater than the top: the client claims a position this history never reached.
    if (since.epoch !== this.epoch || since.offset > this.last) return { ...base, recovered: false, pubs: [] };
    const missed = this.last - since.offset;
    if (missed === 0) return { ...base, recovered: true, pubs: [] };
    const first = this.entries[0];
    if (first === undefined || first.offset > since.offset + 1 || missed > maxReplay) return { ...base, recovered: false, pubs: [] };
    // Offsets are contiguous, so the replay starts at a computed index instead of a scan.
    const pubs = this.entries.slice(since.offset + 1 - first.offset).map((e) => this.pub(e));
    return { ...base, recovered: true, pubs };
  }

  private pub(e: HistoryEntry): Publication {
    return { topic: this.stream, id: e.id, offset: e.offset, epoch: this.epoch, ts: e.ts, data: e.data };
  }

  private trimAge(): void {
    const cutoff = this.now() - this.limits.ttl;
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.ts <= cutoff) n++;
    if (n > 0) this.entries.splice(0, n);
  }
}
