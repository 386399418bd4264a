import type { PublishFrame, RequestFrame, StreamPosition } from '../protocol/frames';
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
  /**
   * Save the unsent publishes and the stream positions (coalesced to once per tick; also done on
   * every change of the publishes). Nothing is written before `load`, so an early save never erases
   * what an earlier session saved.
   */
  save(): void;
  /** Put the saved stream positions back into `positions`; return the saved publishes (empty without storage). */
  load(): Promise<SavedPublish[]>;
}

export interface OutboxOptions {
  size: number;
  timers: Timers;
  storage?: Storage | undefined;
  /** Storage key prefix: unsent publishes under `key + 'outbox'`, stream positions under `key + 'streams'`. */
  key: string;
  /** Last position per stream, saved along (the subscriptions' map). */
  positions: Map<string, StreamPosition>;
  /** Where storage failures are reported. */
  report(error: unknown): void;
}

export function createOutbox({ size, timers, storage, key, positions, report }: OutboxOptions): Outbox {
  // A Set keeps insertion order and deletes in O(1): acknowledgements do not shift an array.
  const ops = new Set<OutboxOp>();
  let saving = false;
  let loaded = false;

  const save = () => {
    if (!storage || !loaded || saving) return;
    saving = true;
    Promise.resolve()
      .then(() => {
        void storage.set(key + 'streams', JSON.stringify([...positions])).catch(report);
        // `failAll` ran since (close): the emptied outbox must not be written over the saved publishes.
        if (!saving) return;
        saving = false;
        const pubs: SavedPublish[] = [];
        for (const { frame, deadline } of ops) {
          if (frame.t == 'pub') pubs.push({ ...frame, deadline });
        }
        return pubs.length ? storage.set(key + 'outbox', JSON.stringify(pubs)) : storage.remove(key + 'outbox');
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
      // A deadline past (restored) fires at once; one beyond `MAX_DELAY` (`Infinity`) is clamped to it.
      op.timer = timers.setTimeout(
        () => settle(op, new RealtimeError('timeout', 'deadline passed')),
        Math.min(op.deadline - timers.now(), MAX_DELAY),
      );
      if (op.frame.t == 'pub') save();
      return undefined;
    },
    settle,
    unsent: () => [...ops].filter((op) => op.sent === undefined),
    failAll(error) {
      // Storage is left as is: publishes saved for a later session survive `close()` (a save
      // already on its way writes only the stream positions).
      saving = false;
      const all = [...ops];
      ops.clear();
      for (const op of all) {
        timers.clearTimeout(op.timer);
        op.reject(error);
      }
    },
    save,
    async load() {
      try {
        // Written by `save` above; anything else under these keys is a bug we report.
        for (const [s, p] of JSON.parse((await storage?.get(key + 'streams')) ?? '[]') as [string, StreamPosition][]) {
          positions.set(s, p);
        }
        return JSON.parse((await storage?.get(key + 'outbox')) ?? '[]') as SavedPublish[];
      } catch (error) {
        report(error);
        return [];
      } finally {
        // Saving waits for this read so it never erases what an earlier session left; what changed
        // meanwhile (a publish before the first connect) is saved now.
        loaded = true;
        save();
      }
    },
  };
}
