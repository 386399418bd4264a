import { randomUUID } from 'node:crypto';
import type { StreamPosition, SubscribeResult } from '../../protocol/frames';
import { StreamHistory, type HistoryLimits } from '../history';
import type { Broker, Delivery, PublishOutcome, StreamOffset, Subscriber } from './types';

interface StreamState {
  history?: StreamHistory;
  subscribers: Set<Subscriber>;
}

export interface MemoryBrokerOptions {
  history: HistoryLimits;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
  /** Called when a subscriber throws from `deliver`; the others still get the message. */
  onError?: (error: unknown) => void;
}

/**
 * The embedded, single-process broker: history and subscriptions in maps keyed by app and stream.
 * Streams with no subscriber and no history left are forgotten by a periodic sweep, so a stream that
 * comes back later starts a new epoch (its clients then see `recovered: false`, as they should).
 */
export class MemoryBroker implements Broker {
  private readonly apps = new Map<string, Map<string, StreamState>>();
  private readonly now: () => number;
  private readonly sweepTimer: ReturnType<typeof setInterval>;

  constructor(private readonly options: MemoryBrokerOptions) {
    this.now = options.now ?? Date.now;
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(options.history.ttl, 60_000));
    this.sweepTimer.unref?.();
  }

  async publish(app: string, streams: string[], data: unknown): Promise<PublishOutcome> {
    const id = randomUUID();
    const ts = this.now();
    const positions: StreamOffset[] = [];
    const offsets: Record<string, number> = {};
    for (const stream of new Set(streams)) {
      const history = this.historyOf(app, stream);
      const offset = history.append(id, ts, data);
      positions.push({ stream, epoch: history.epoch, offset });
      offsets[stream] = offset;
    }
    const delivery: Delivery = { id, ts, data, streams: positions };
    // Group matched streams per subscriber so each receives the message once.
    const perSubscriber = new Map<Subscriber, StreamOffset[]>();
    const streamsOfApp = this.apps.get(app);
    for (const position of positions) {
      for (const sub of streamsOfApp?.get(position.stream)?.subscribers ?? []) {
        const matched = perSubscriber.get(sub);
        if (matched) matched.push(position);
        else perSubscriber.set(sub, [position]);
      }
    }
    for (const [sub, matched] of perSubscriber) {
      try {
        sub.deliver(delivery, matched);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
    return { id, ts, streams: offsets, delivered: perSubscriber.size };
  }

  subscribe(app: string, stream: string, subscriber: Subscriber): void {
    this.stateOf(app, stream).subscribers.add(subscriber);
  }

  unsubscribe(app: string, stream: string, subscriber: Subscriber): void {
    this.apps.get(app)?.get(stream)?.subscribers.delete(subscriber);
  }

  async history(app: string, stream: string, since?: StreamPosition): Promise<SubscribeResult> {
    return this.historyOf(app, stream).since(since);
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.apps.clear();
  }

  /** Forget streams nobody listens to whose history has emptied (all messages aged out). */
  private sweep(): void {
    const idleBefore = this.now() - this.options.history.ttl;
    for (const [app, streams] of this.apps) {
      for (const [stream, state] of streams) {
        if (state.subscribers.size > 0) continue;
        const h = state.history;
        if (!h || (h.size === 0 && h.lastActivity <= idleBefore)) streams.delete(stream);
      }
      if (streams.size === 0) this.apps.delete(app);
    }
  }

  private stateOf(app: string, stream: string): StreamState {
    let streams = this.apps.get(app);
    if (!streams) this.apps.set(app, (streams = new Map()));
    let state = streams.get(stream);
    if (!state) streams.set(stream, (state = { subscribers: new Set() }));
    return state;
  }

  private historyOf(app: string, stream: string): StreamHistory {
    const state = this.stateOf(app, stream);
    return (state.history ??= new StreamHistory(stream, this.options.history, this.now));
  }
}
