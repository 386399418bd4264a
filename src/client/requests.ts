import type { ReplyFrame } from '../protocol/frames';
import type { Timers } from '../util/timers';
import { RealtimeError, fromWire } from './errors';

/** One request waiting for its `reply`. */
export interface Pending {
  ok(result: unknown): void;
  fail(error: RealtimeError): void;
  /** The link was lost before the reply. Default: `fail` with code `transport`. */
  lost?(): void;
  timer?: unknown;
}

/**
 * Correlates `reply` frames with the requests that asked for them, by numeric id. Methods on the
 * prototype, the table made on first use: an idle client pays for neither.
 */
export class Requests {
  // Ids grow for the client's life, so a late reply from an old link never matches a new request.
  private seq_ = 0;
  private pending_?: Map<number, Pending>;

  constructor(private readonly timers_: Timers) {}

  /** Register `p` and return the id to send it with. `timeout` in ms (at most `MAX_DELAY`); `0`: none. */
  add(p: Pending, timeout: number): number {
    const id = ++this.seq_;
    const pending = this.pending_ || (this.pending_ = new Map());
    pending.set(id, p);
    if (timeout) {
      p.timer = this.timers_.setTimeout(() => {
        pending.delete(id);
        p.fail(new RealtimeError('timeout', `no reply within ${timeout} ms`));
      }, timeout);
    }
    return id;
  }

  /** Route a reply to its request; unknown ids (never sent, timed out or forgotten) are ignored: `false`. */
  settle(reply: ReplyFrame): boolean {
    const p = this.pending_?.get(reply.id);
    if (!p) return false;
    this.pending_!.delete(reply.id);
    this.timers_.clearTimeout(p.timer);
    if (reply.error) p.fail(fromWire(reply.error));
    else p.ok(reply.result);
    return true;
  }

  /** Forget every pending request, in send order, handing each to `each`. */
  drain(each: (pending: Pending) => void): void {
    if (!this.pending_?.size) return;
    const all = [...this.pending_.values()];
    this.pending_.clear();
    for (const p of all) {
      this.timers_.clearTimeout(p.timer);
      each(p);
    }
  }
}
