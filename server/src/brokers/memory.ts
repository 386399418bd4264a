import { randomUUID } from 'node:crypto';
import type { StreamPosition, SubscribeResult } from 'sdk-realtime/protocol';
import { StreamHistory, newEpoch, type HistoryLimits } from '../history';
import { IdempotencyCache, messageIdFor } from '../idempotency';
import { fanOut } from './fanout';
import { IDEMPOTENCY_TTL, IdempotencyConflictError, type Broker, type Delivery, type PublishOptions, type PublishOutcome, type StreamOffset, type Subscriber } from './types';

interface StreamState {
  app: AppState;
  stream: string;
  history?: StreamHistory;
  subscribers: Set<Subscriber>;
}

/** Everything one app holds. Bounds and eviction are per app, so one app never evicts another's history. */
interface AppState {
  id: string;
  streams: Map<string, StreamState>;
  /** Streams with history and no subscriber, least recently published (or left) first: the eviction order. */
  idle: Set<StreamState>;
  /** Streams holding history. */
  withHistory: number;
  /**
   * Bumped whenever a stream of this app is forgotten. A stream that has no history yet answers
   * `history` with the epoch `<broker epoch>.<generation>` and is created with it later, so a
   * subscriber that came first recovers from offset 0; a stream forgotten and created again always
   * gets a different epoch, so reused offsets are never mistaken for the old ones.
   */
  generation: number;
}

/** Apps whose idempotency keys are remembered at once (the least recently keyed app is dropped). */
const MAX_KEYED_APPS = 1000;

export interface MemoryBrokerOptions {
  /** Per-stream limits, and `streams`: most streams holding history at once per app (default unbounded). */
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
 * Only a publish creates history (a subscription or a history read never does). Streams with no
 * subscriber and no history left are forgotten by a periodic sweep, so a stream that comes back
 * later starts a new epoch (its clients then see `recovered: false`, as they should).
 */
export class MemoryBroker implements Broker {
  private readonly apps = new Map<string, AppState>();
  private readonly epoch = newEpoch();
  private readonly now: () => number;
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  /**
   * Keyed publishes (client `pub` keys, `/notify` Idempotency-Key), per app so one app's flood
   * never drops another's keys: at most 10,000 per app, oldest first, for the 1,000 apps that
   * published with a key most recently.
   */
  private readonly keyed = new Map<string, IdempotencyCache<{ fingerprint?: string; outcome: PublishOutcome }>>();

  constructor(private readonly options: MemoryBrokerOptions) {
    this.now = options.now ?? Date.now;
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(options.history.ttl, 60_000));
    this.sweepTimer.unref?.();
  }

  async publish(app: string, streams: string[], data: unknown, options: PublishOptions = {}): Promise<PublishOutcome> {
    const { key, fingerprint } = options;
    if (key === undefined) return this.append(app, streams, data, randomUUID());
    // The first attempt's promise is shared, so a repeat arriving while it runs waits for it.
    const first = await this.keyedOf(app).run(key, async () => ({ fingerprint, outcome: this.append(app, streams, data, messageIdFor(app, key)) }));
    if (first.fingerprint !== fingerprint) throw new IdempotencyConflictError();
    return first.outcome;
  }

  /** The app's idempotency cache, most recently used last (O(1) LRU over apps). */
  private keyedOf(app: string): IdempotencyCache<{ fingerprint?: string; outcome: PublishOutcome }> {
    let cache = this.keyed.get(app);
    if (cache) this.keyed.delete(app);
    else cache = new IdempotencyCache(10_000, IDEMPOTENCY_TTL, this.now);
    this.keyed.set(app, cache);
    if (this.keyed.size > MAX_KEYED_APPS) this.keyed.delete(this.keyed.keys().next().value!);
    return cache;
  }

  private append(app: string, streams: string[], data: unknown, id: string): PublishOutcome {
    const ts = this.now();
    const positions: StreamOffset[] = [];
    const offsets: Record<string, number> = {};
    for (const stream of new Set(streams)) {
      const state = this.withHistory(this.stateOf(app, stream));
      if (state.app.idle.delete(state)) state.app.idle.add(state);
      const offset = state.history!.append(id, ts, data);
      positions.push({ stream, epoch: state.history!.epoch, offset });
      offsets[stream] = offset;
    }
    const delivery: Delivery = { id, ts, data, streams: positions };
    const delivered = fanOut(delivery, (stream) => this.apps.get(app)?.streams.get(stream)?.subscribers, this.options.onError);
    return { id, ts, streams: offsets, positions, delivered };
  }

  async subscribe(app: string, stream: string, subscriber: Subscriber): Promise<void> {
    const state = this.stateOf(app, stream);
    state.subscribers.add(subscriber);
    state.app.idle.delete(state);
  }

  unsubscribe(app: string, stream: string, subscriber: Subscriber): void {
    const state = this.apps.get(app)?.streams.get(stream);
    if (!state || !state.subscribers.delete(subscriber) || state.subscribers.size > 0) return;
    if (state.history) state.app.idle.add(state);
    // Nothing left to keep (no history, no subscriber): forgotten now, not at the next sweep, so a
    // client that subscribes to and leaves fresh topics in a loop holds nothing. No generation bump:
    // the stream never had history, so the epoch it would be created with is unchanged.
    else this.drop(state);
  }

  /** Remove a stream that holds nothing, and its app when that holds nothing either (as the sweep does). */
  private drop(state: StreamState): void {
    const app = state.app;
    app.streams.delete(state.stream);
    if (app.streams.size === 0 && app.generation === 0) this.apps.delete(app.id);
  }

  async history(app: string, stream: string, since?: StreamPosition): Promise<SubscribeResult> {
    const a = this.apps.get(app);
    const h = a?.streams.get(stream)?.history;
    if (h) return h.since(since, this.options.history.maxReplay);
    // No history yet: answer for the stream as it will be created, without creating it.
    const epoch = this.pendingEpoch(a);
    const recovered = since === undefined || (since.epoch === epoch && since.offset === 0);
    return { epoch, offset: 0, recovered, pubs: [] };
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.apps.clear();
  }

  private pendingEpoch(app: AppState | undefined): string {
    return `${this.epoch}.${app?.generation ?? 0}`;
  }

  /** Forget streams nobody listens to whose history has emptied (all messages aged out). */
  private sweep(): void {
    const idleBefore = this.now() - this.options.history.ttl;
    for (const [id, app] of this.apps) {
      for (const state of app.streams.values()) {
        if (state.subscribers.size > 0) continue;
        const h = state.history;
        if (!h || (h.size === 0 && h.lastActivity <= idleBefore)) this.forget(state);
      }
      // An app that never forgot a history can start over at generation 0; one that did keeps its
      // generation, so no epoch it handed out is ever reused.
      if (app.streams.size === 0 && app.generation === 0) this.apps.delete(id);
    }
  }

  private forget(state: StreamState): void {
    const app = state.app;
    app.streams.delete(state.stream);
    app.idle.delete(state);
    if (state.history) {
      state.history = undefined;
      app.withHistory--;
      app.generation++;
    }
  }

  private stateOf(appId: string, stream: string): StreamState {
    let app = this.apps.get(appId);
    if (!app) this.apps.set(appId, (app = { id: appId, streams: new Map(), idle: new Set(), withHistory: 0, generation: 0 }));
    let state = app.streams.get(stream);
    if (!state) app.streams.set(stream, (state = { app, stream, subscribers: new Set() }));
    return state;
  }

  /**
   * The stream with its history created if it had none. At the app's `history.streams` bound the
   * least recently used stream nobody listens to is forgotten first (O(1)); streams with
   * subscribers are never evicted (their number is bounded by the connection limits).
   */
  private withHistory(state: StreamState): StreamState {
    if (state.history) return state;
    const app = state.app;
    const max = this.options.history.streams ?? Infinity;
    if (app.withHistory >= max) {
      const victim = app.idle.values().next().value;
      if (victim) {
        this.forget(victim);
        this.options.onEvict?.(app.id, victim.stream);
      }
    }
    state.history = new StreamHistory(state.stream, this.options.history, this.now, this.pendingEpoch(app));
    app.withHistory++;
    if (state.subscribers.size === 0) app.idle.add(state);
    return state;
  }
}
