import type { PublishFrame, RequestFrame } from '../protocol/frames';
import type { Storage } from '../storage/types';
import { MAX_DELAY, type Timers } from '../util/timers';
import { RealtimeError } from './errors';

/** A publish or request from the app, tracked from the call until its reply or its deadline. */
export interface OutboxOp {
  readonly frame: Omit<PublishFrame, 'id'> | Omit<RequestFrame, 'id'>;
  /** The frame encoded once, ending in `"id":0}`; sending splices in the real id (no re-encode). */
  readonly body: string;
  /** Absolute deadline, ms since the Unix epoch (`Infinity`: none). */
  readonly deadline: number;
  resolve(result: unknown): void;
  reject(error: RealtimeError): void;
  /** Request id while sent and not yet answered on the current link. */
  sent?: number;
  timer?: unknown;
}

/** A publish as persisted across reloads (its promise cannot survive; its effect can). */
export type SavedPublish = Omit<PublishFrame, 'id'> & { deadline: number };

/**
 * Operations not yet answered, in call order: waiting for a connection, or sent on the current
 * link. A publish sent but unanswered when the link drops stays here and is resent with the same
 * idempotency key after the next connect; the server applies it once.
 */
export interface Outbox {
  /**
   * Track `op` until settled or its deadline (then it fails with `timeout`). When `waiting` (no
   * connection) the bound applies: the error `outbox_full` is returned and nothing is tracked.
   */
  add(op: OutboxOp, waiting: boolean): RealtimeError | undefined;
  /** Finish `op` with its result, or its error. Idempotent: a late reply after a timeout is ignored. */
  settle(op: OutboxOp, error?: RealtimeError, result?: unknown): void;
  /** Ops not sent on the current link, oldest first. */
  unsent(): OutboxOp[];
  /** Reject everything (client closed); saved publishes stay saved for the next session. */
  failAll(error: RealtimeError): void;
  /** Publishes saved by a previous session (empty without storage). */
  load(): Promise<SavedPublish[]>;
}

export interface OutboxOptions {
  size: number;
  timers: Timers;
  storage?: Storage | undefined;
  /** Storage key of the saved publishes. */
  key: string;
  /** Where storage failures are reported. */
  report(error: unknown): void;
}

export function createOutbox({ size, timers, storage, key, report }: OutboxOptions): Outbox {
  // A Set keeps insertion order and deletes in O(1): acknowledgements do not shift an array.
  const ops = new Set<OutboxOp>();
  let saving = false;

  // Persist the pending publishes, coalesced to once per tick however many changed.
  const save = () => {
    if (!storage || saving) return;
    saving = true;
    Promise.resolve()
      .then(() => {
        saving = false;
        const pubs: SavedPublish[] = [];
        for (const { frame, deadline } of ops) {
          if (frame.t == 'pub') pubs.push({ ...frame, deadline });
        }
        return pubs.length ? storage.set(key, JSON.stringify(pubs)) : storage.remove(key);
      })
      .catch(report);
  };

  const settle: Outbox['settle'] = (op, error, result) => {
    if (!ops.delete(op)) return;
    timers.clearTimeout(op.timer);
    if (op.frame.t == 'pub') save();
    if (error) op.reject(error);
    else op.resolve(result);
  };

  return {
    add(op, waiting) {
      if (waiting && ops.size >= size) {
        return new RealtimeError('outbox_full', 'outbox full');
      }
      ops.add(op);
      const ms = op.deadline - timers.now();
      if (ms <= MAX_DELAY) {
        op.timer = timers.setTimeout(
          () => settle(op, new RealtimeError('timeout', 'deadline passed')),
          Math.max(0, ms),
        );
      }
      if (op.frame.t == 'pub') save();
      return undefined;
    },
    settle,
    unsent: () => [...ops].filter((op) => op.sent === undefined),
    failAll(error) {
      // Storage is left as is: publishes saved for a later session survive `close()`.
      const all = [...ops];
      ops.clear();
      for (const op of all) {
        timers.clearTimeout(op.timer);
        op.reject(error);
      }
    },
    async load() {
      if (!storage) return [];
      try {
        // Written by `save` above; anything else under this key is a bug we report.
        return JSON.parse((await storage.get(key)) ?? '[]') as SavedPublish[];
      } catch (error) {
        report(error);
        return [];
      }
    },
  };
}
