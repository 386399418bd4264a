import type { PublishFrame, StreamPosition } from '../protocol/frames';
import type { Storage } from '../storage/types';
import type { Operations } from './operations';
import type { Subscriptions } from './subscriptions';

/** A publish as persisted across reloads (its promise cannot survive; its effect can). */
export type SavedPublish = Omit<PublishFrame, 'id'> & { deadline: number };


/**
 * What survives a reload, in `storage`: the last position of each stream (`key + 'streams'`), so
 * subscriptions recover what was missed while the app was gone, and the unsent publishes
 * (`key + 'outbox'`), resent with their idempotency keys.
 *
 * Writes are coalesced to one per tick. Nothing is written before `load_` read what an earlier
 * session left, so an early save never erases it.
 */
export class SavedState {
  private loaded_ = false;
  private saving_ = false;
  /** `close_()` ran: the emptied outbox must not be written over the saved publishes. */
  private closed_ = false;

  constructor(
    private readonly storage_: Storage,
    private readonly key_: string,
    /** Whose stream positions are saved (loading fills them in). */
    private readonly subs_: Subscriptions,
    /** Where the publishes not yet acknowledged are. */
    private readonly ops_: Operations,
    private readonly report_: (error: unknown) => void,
  ) {}

  /** Put the saved positions into the source's map; return the saved publishes. */
  async load_(): Promise<SavedPublish[]> {
    const storage = this.storage_;
    try {
      // Written by `save_` below; anything else under these keys is a bug we report.
      for (const [s, p] of JSON.parse((await storage.get(this.key_ + 'streams')) ?? '[]') as [string, StreamPosition][]) {
        this.subs_.setPosition_(s, p);
      }
      return JSON.parse((await storage.get(this.key_ + 'outbox')) ?? '[]') as SavedPublish[];
    } catch (error) {
      this.report_(error);
      return [];
    } finally {
      // What changed meanwhile (a publish before the first connect) is saved now.
      this.loaded_ = true;
      this.save_();
    }
  }

  /** Save positions and publishes, once this tick. */
  save_(): void {
    if (!this.loaded_ || this.saving_) return;
    this.saving_ = true;
    this.closed_ = false;
    Promise.resolve()
      .then(() => {
        this.saving_ = false;
        const storage = this.storage_;
        void storage.set(this.key_ + 'streams', JSON.stringify([...this.subs_.positions_])).catch(this.report_);
        if (this.closed_) return;
        const pubs: SavedPublish[] = [];
        for (const op of this.ops_.app_ || []) if (op.frame_!.t == 'pub') pubs.push({ ...(op.frame_ as SavedPublish), deadline: op.due_! });
        return pubs.length ? storage.set(this.key_ + 'outbox', JSON.stringify(pubs)) : storage.remove(this.key_ + 'outbox');
      })
      .catch(this.report_);
  }

  /**
   * The client closed: publishes saved for a later session stay as they are (a save already on
   * its way writes only the positions).
   */
  close_(): void {
    this.closed_ = true;
  }
}
