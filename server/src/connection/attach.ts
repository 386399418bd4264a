import type { StreamPosition, SubscribeResult } from 'sdk-realtime/protocol';
import type { Broker, Delivery, StreamOffset, Subscriber } from '../brokers/types';

/** Live messages held while a subscription fetches its history; beyond, the connection is cut (4005) and recovers. */
export const MAX_HELD = 10_000;

/**
 * Joins live delivery and history without a gap or a repeat, for one connection: subscribe
 * (live from then on), read the history, send the reply, then the live messages that arrived
 * meanwhile minus those the history covered. While any attach is in flight, live messages wait
 * here (at most {@link MAX_HELD}).
 */
export class StreamAttacher {
  private inFlight = 0;
  private held: Array<{ delivery: Delivery; matched: StreamOffset[] }> = [];
  /** Newest offset a history reply covered, per stream, while messages are held. */
  private readonly covered = new Map<string, StreamPosition>();

  constructor(
    private readonly broker: Broker,
    private readonly app: string,
    private readonly subscriber: Subscriber,
    /** Sends a message that is not held. */
    private readonly send: (delivery: Delivery, matched: StreamOffset[]) => void,
    /** The hold bound was reached: the connection must go (it recovers on reconnect). */
    private readonly onOverflow: () => void,
    /** Most replayed bytes one reply may carry (see {@link capReplay}); default unbounded. */
    private readonly maxReplayBytes = Infinity,
  ) {}

  /** A live message: sent now, or held while an attach is in flight. */
  deliver(delivery: Delivery, matched: StreamOffset[]): void {
    if (this.inFlight === 0) return this.send(delivery, matched);
    if (this.held.length >= MAX_HELD) return this.onOverflow();
    this.held.push({ delivery, matched });
  }

  /**
   * Subscribe to `streams` and read their recovery from `since`; `done` gets the results (and
   * sends the reply) unless `isOpen()` turned false. On failure, streams not `kept` are released.
   * When the connection closed meanwhile (`isOpen()` false at the end), every one is released.
   */
  async attach(
    streams: string[],
    since: (stream: string) => StreamPosition | undefined,
    kept: (stream: string) => boolean,
    isOpen: () => boolean,
    done: (results: Array<[string, SubscribeResult]>) => void,
  ): Promise<void> {
    const { broker, app, subscriber } = this;
    this.inFlight++;
    try {
      // Live first (the broker holds the subscription once this resolves), then the history: a
      // message published in between is held and dropped if the history covered it.
      await Promise.all(streams.map((s) => broker.subscribe(app, s, subscriber)));
      const results = await Promise.all(streams.map(async (s): Promise<[string, SubscribeResult]> => [s, await broker.history(app, s, since(s))]));
      capReplay(results, this.maxReplayBytes);
      for (const [s, r] of results) this.covered.set(s, { epoch: r.epoch, offset: r.offset });
      if (isOpen()) done(results);
    } catch (e) {
      for (const s of streams) if (!kept(s)) broker.unsubscribe(app, s, subscriber);
      throw e;
    } finally {
      this.inFlight--;
      // Closed while the history was read: the connection's cleanup did not know these streams yet.
      if (!isOpen()) {
        for (const s of streams) broker.unsubscribe(app, s, subscriber);
        this.held = [];
      } else if (this.inFlight === 0) this.release();
    }
  }

  /** Drop everything held (the connection closed). */
  clear(): void {
    this.held = [];
    this.covered.clear();
  }

  private release(): void {
    const { held, covered } = this;
    this.held = [];
    for (const { delivery, matched } of held) {
      const rest = matched.filter((m) => {
        const c = covered.get(m.stream);
        return !(c && c.epoch === m.epoch && m.offset <= c.offset);
      });
      if (rest.length > 0) this.send(delivery, rest);
    }
    covered.clear();
  }
}

/** What one replayed publication costs in a reply besides its `data`: the topic, id, offsets, keys. */
const PUB_OVERHEAD = 96;

/**
 * Never more than `budget` bytes (about: UTF-16 units of the JSON) of replayed messages in one
 * reply: a stream whose replay does not fit in what is left answers `recovered: false` with no
 * `pubs`, as a gap longer than `history.maxReplay` does (never a partial replay; the client
 * refetches). Without it one `sub` with an old position on a stream of large messages makes the
 * server build a reply of up to `history.size` × `maxFrameBytes` (1 GB by default) for one
 * frame, and a reply larger than the client's own frame limit, which it drops, every time it
 * resubscribes. The work is bounded too: a stream's sizes are summed only until they overflow.
 */
export function capReplay(results: Array<[string, SubscribeResult]>, budget: number): void {
  let left = budget;
  for (const entry of results) {
    const r = entry[1];
    if (r.pubs.length === 0) continue;
    let cost = 0;
    for (const p of r.pubs) {
      cost += PUB_OVERHEAD + p.topic.length + p.id.length + (JSON.stringify(p.data)?.length ?? 0);
      if (cost > left) break;
    }
    if (cost <= left) left -= cost;
    else entry[1] = { epoch: r.epoch, offset: r.offset, recovered: false, pubs: [] };
  }
}
