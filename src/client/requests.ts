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

/** Correlates `reply` frames with the requests that asked for them, by numeric id. */
export interface Requests {
  /** Register `pending` and return the id to send it with. `timeout` in ms (at most `MAX_DELAY`); `0`: none. */
  add(pending: Pending, timeout: number): number;
  /** Route a reply to its request; unknown ids (never sent, timed out or forgotten) are ignored: `false`. */
  settle(reply: ReplyFrame): boolean;
  /** Forget every pending request, in send order, handing each to `each`. */
  drain(each: (pending: Pending) => void): void;
}


export function createRequests(timers: Timers): Requests {
  // Ids grow for the client's life, so a late reply from an old link never matches a new request.
  let seq = 0;
  const pending = new Map<number, Pending>();
  return {
    add(p, timeout) {
      const id = ++seq;
      pending.set(id, p);
      if (timeout) {
        p.timer = timers.setTimeout(() => {
          pending.delete(id);
          p.fail(new RealtimeError('timeout', `no reply within ${timeout} ms`));
        }, timeout);
      }
      return id;
    },
    settle(reply) {
      const p = pending.get(reply.id);
      if (!p) return false;
      pending.delete(reply.id);
      timers.clearTimeout(p.timer);
      if (reply.error) p.fail(fromWire(reply.error));
      else p.ok(reply.result);
      return true;
    },
    drain(each) {
      const all = [...pending.values()];
      pending.clear();
      for (const p of all) {
        timers.clearTimeout(p.timer);
        each(p);
      }
    },
  };
}
