import { randomUUID } from 'node:crypto';
import type { StreamPosition, SubscribeResult } from '../../protocol/frames';
import { StreamHistory, type HistoryLimits } from '../history';
import type { Broker, Delivery, PublishOutcome, StreamOffset, Subscriber } from './types';

interface StreamState {
  app: string;
  stream: string;
  history?: StreamHistory;
  subscribers: Set<Subscriber>;
}

export interface MemoryBrokerOptions {
  /** Per-stream limits, and `streams`: most streams holding history at once (default unbounded). */
  history: HistoryLimits & { streams?: number };
  /** Called when a stream's history is forgotten at the `history.streams` bound. */
  onEvict?: (app: string, stream: string) => void;
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
  /** Streams holding history, least recently published first (re-inserted on every publish). */
  private readonly byRecency = new Set<StreamState>();
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
    const states: StreamState[] = [];
    const offsets: Record<string, number> = {};
    for (const stream of new Set(streams)) {
      const state = this.withHistory(app, stream);
      this.byRecency.delete(state);
      this.byRecency.add(state);
      const offset = state.history!.append(id, ts, data);
      positions.push({ stream, epoch: state.history!.epoch, offset });
      states.push(state);
      offsets[stream] = offset;
    }
    const delivery: Delivery = { id, ts, data, streams: positions };
    // Group matched streams per subscriber so each receives the message once.
    const perSubscriber = new Map<Subscriber, StreamOffset[]>();
    for (const [i, position] of positions.entries()) {
      for (const sub of states[i]!.subscribers) {
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
    return this.withHistory(app, stream).history!.since(since);
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.apps.clear();
    this.byRecency.clear();
  }

  /** Forget streams nobody listens to whose history has emptied (all messages aged out). */
  private sweep(): void {
    const idleBefore = this.now() - this.options.history.ttl;
    for (const [app, streams] of this.apps) {
      for (const [stream, state] of streams) {
        if (state.subscribers.size > 0) continue;
        const h = state.history;
        if (!h || (h.size === 0 && h.lastActivity <= idleBefore)) {
          streams.delete(stream);
          this.byRecency.delete(state);
        }
      }
      if (streams.size === 0) this.apps.delete(app);
    }
  }

  private stateOf(app: string, stream: string): StreamState {
    let streams = this.apps.get(app);
    if (!streams) this.apps.set(app, (streams = new Map()));
    let state = streams.get(stream);
    if (!state) streams.set(stream, (state = { app, stream, subscribers: new Set() }));
    return state;
  }

  /** At the `history.streams` bound, forget the least recently published stream nobody listens to. */
  private makeRoom(): void {
    const max = this.options.history.streams ?? Infinity;
    if (this.byRecency.size < max) return;
    for (const state of this.byRecency) {
      if (state.subscribers.size > 0) continue;
      this.byRecency.delete(state);
      state.history = undefined;
      this.apps.get(state.app)?.delete(state.stream);
      this.options.onEvict?.(state.app, state.stream);
      return;
    }
  }

  /** The stream's state, with its history created (making room at the bound) if it had none. */
  private withHistory(app: string, stream: string): StreamState {
    const state = this.stateOf(app, stream);
    if (!state.history) {
      this.makeRoom();
      state.history = new StreamHistory(stream, this.options.history, this.now);
      this.byRecency.add(state);
    }
    return state;
  }
}
