import { memoryStorage } from '../storage/memory';
import { pack, createBatcher, utf8Length } from './batcher';
import { fetchConfig, loadRemoteConfig } from './config';
import { browserPrivacySignals, effectiveConsent, type Consent } from './consent';
import { browserTelemetryEnvironment } from './environment';
import { filterFields } from './fields';
import { bad, kind, num, type TelemetryOptions } from './options';
import { createTaskQueue, type QueueEvent, type TaskResult } from './queue';
import { inSample } from './sampling';
import { scrub, scrubString } from './scrub';
import { fetchSender } from './senders/fetch';
import { webStorage } from '../storage/web';
import type { DropReason, EventType, RemoteConfig, TelemetryEvent, TelemetryStats, TrackApi } from './types';

/** A batch waiting for upload, as persisted. */
interface Item {
  /** Events. */
  e: TelemetryEvent[];
  /** Created, ms since the epoch. */
  t: number;
  /** Priority: 1 when it holds an error, else 0. */
  p: number;
  /** Serialized size of the events, bytes. */
  b: number;
}

/** The tracker {@link createTelemetry} returns. */
export interface Telemetry extends TrackApi {
  /** This session's id (sampling is decided on it). */
  readonly sessionId: string;
  /** Resolves once the remote config is loaded, persisted batches are restored and plugins started. */
  readonly ready: Promise<void>;
  /** Set (or clear with `null`) the user id stamped on later events. */
  setUser(userId: string | null): void;
  /** Change consent: `granted` releases held events, `denied` drops them (counted as `consent`). */
  setConsent(consent: Consent): void;
  /** Upload everything buffered now; resolves when the queue has nothing left it can send. */
  flush(): Promise<void>;
  /** Counters: events queued, sent, and dropped by reason. */
  stats(): TelemetryStats;
  /** Progress of the upload queue (each start, done, retry, drop, split, pause). Returns the unsubscribe. */
  onProgress(listener: (event: QueueEvent<TelemetryEvent[]>) => void): () => void;
  /** Pause uploads (events are still collected and persisted). */
  pause(): void;
  resume(): void;
  /** Stop at once: plugins and listeners off, timers cleared, waiting batches persisted for next time. Idempotent. */
  stop(): void;
  /** Flush (bounded by `timeout`), then {@link stop}. */
  shutdown(): Promise<void>;
}

const MAX_HELD = 100;

/** Start a telemetry tracker. A bad option throws a TypeError naming it. Nothing is sent before the first event. */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  const o = (options && typeof options == 'object' ? options : {}) as TelemetryOptions;
  if (!o.app || typeof o.app != 'string') throw bad('app', 'a non-empty string');
  kind(o, 'endpoint release env sessionId', 'string');
  kind(o, 'allow deny', 'array');
  kind(o, 'plugins sender', 'object');
  if (!o.endpoint && !o.sender) throw bad('endpoint', 'set (or "sender")');
  if (o.consent !== undefined && !['granted', 'denied', 'pending'].includes(o.consent)) throw bad('consent', 'granted, denied or pending');
  const DAY = 864e5;
  const sampleRate = num(o, 'sampleRate', 1, 0, 1, false);
  const batchSize = num(o, 'batchSize', 20, 1, 1000);
  const flushInterval = num(o, 'flushInterval', 1e4, 0, DAY);
  const maxBatchBytes = num(o, 'maxBatchBytes', 30720, 1024, 1 << 20);
  const maxEventBytes = num(o, 'maxEventBytes', 8192, 256, 1 << 20);
  const unloadBudget = num(o, 'unloadBudget', 61440, 0, 61440);
  const maxQueuedEvents = num(o, 'maxQueuedEvents', 1000, 1, 1e6);
  const maxQueuedBytes = num(o, 'maxQueuedBytes', 1 << 20, 1024, 1 << 30);
  const maxAge = num(o, 'maxAge', DAY, 1, 365 * DAY);
  const timeout = num(o, 'timeout', 1e4, 1, DAY);
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const base = (o.endpoint ?? '').replace(/\/+$/, '');
  const sender = o.sender ?? fetchSender({ url: base + '/api/telemetry/batch' });
  // localStorage where the page may use it (probed once: blocked storage throws on access).
  const storage = o.storage || (o.storage !== false && hasLocalStorage() ? webStorage() : memoryStorage());
  const env = o.environment ?? browserTelemetryEnvironment();
  const privacy = o.privacy ?? browserPrivacySignals();
  const respect = o.respectPrivacySignals !== false;
  const key = 'sdkrt.telemetry.' + o.app;
  const sessionId = o.sessionId ?? now().toString(36) + '-' + random().toString(36).slice(2);

  let userId = o.userId ?? null;
  let consent: Consent = o.consent ?? 'granted';
  let config: RemoteConfig | undefined;
  let stopped = false;
  let held: TelemetryEvent[] = [];
  let spent = 0;
  let sent = 0;
  const dropped: Record<DropReason, number> = { sampled: 0, consent: 0, overflow: 0, tooLarge: 0, expired: 0, failed: 0 };
  const live = new Set<Item>();
  const listeners = new Set<(e: QueueEvent<TelemetryEvent[]>) => void>();
  const cleanups: Array<(() => void) | undefined> = [];

  const drop = (reason: DropReason, n = 1) => (dropped[reason] += n);
  const settle = (item: Item) => live.delete(item) && save();
  const save = () => void storage.set(key, JSON.stringify([...live])).catch(() => {});

  const queue = createTaskQueue<Item>({
    concurrency: num(o, 'concurrency', 2, 1, 16),
    spacing: num(o, 'spacing', 200, 0, DAY),
    timeout,
    retries: num(o, 'retries', 5, 0, 100),
    backoff: o.backoff ?? { floor: 1000, ceiling: 60000 },
    random,
    now,
    run: async (item, signal): Promise<TaskResult<Item>> => {
      if (now() - item.t > maxAge) return { drop: 'expired' };
      const r = await sender.send(body(item), signal);
      const s = r.status;
      if (s >= 200 && s < 300) return { done: true };
      if (s == 413) {
        if (item.e.length < 2) return { drop: 'tooLarge' };
        const h = item.e.length >> 1;
        const parts = [item.e.slice(0, h), item.e.slice(h)].map((e) => ({ ...item, e, b: item.b / 2 }));
        live.delete(item);
        for (const p of parts) live.add(p);
        return { split: parts };
      }
      if (!s && env.isOnline?.() === false) queue.pause();
      if (s == 429 || s == 503) return { retry: true, after: r.retryAfter };
      return !s || s == 408 || s >= 500 ? { retry: true } : { drop: 'failed' };
    },
    onEvent(ev) {
      const item = ev.data;
      if (item && ev.type == 'done') {
        sent += item.e.length;
        settle(item);
      } else if (item && ev.type == 'drop') {
        drop(ev.reason as DropReason, item.e.length);
        settle(item);
      } else if (ev.type == 'split') save();
      const out = { ...ev, data: item?.e };
      listeners.forEach((l) => l(out));
    },
  });

  const body = (item: Item) => JSON.stringify({ v: 1, sentAt: now(), events: item.e });

  const enqueue = (item: Item) => {
    live.add(item);
    queue.push(item, item.p);
    // Caps: drop the oldest waiting batches (the set keeps them in arrival order) until the rest fits.
    let count = 0;
    let bytes = 0;
    for (const i of live) {
      count += i.e.length;
      bytes += i.b;
    }
    for (const old of live) {
      if (count <= maxQueuedEvents && bytes <= maxQueuedBytes) break;
      if (!queue.remove(old)) continue;
      live.delete(old);
      count -= old.e.length;
      bytes -= old.b;
      drop('overflow', old.e.length);
    }
    save();
  };

  const batcher = createBatcher<{ item: TelemetryEvent; bytes: number }>(batchSize, flushInterval, (events) => {
    for (const e of pack(events, batchSize, maxBatchBytes)) {
      enqueue({ e, t: now(), p: e.some((x) => x.type == 'error') ? 1 : 0, b: utf8Length(JSON.stringify(e)) });
    }
  });

  const process = (ev: TelemetryEvent) => {
    const c = config ?? {};
    if (c.enabled === false || effectiveConsent(consent, privacy, respect) == 'denied') return drop('consent');
    const rate = c.sampleRate ?? sampleRate;
    if (!inSample(sessionId, rate)) return drop('sampled');
    ev.rate = rate;
    ev.name = scrubString(ev.name);
    if (ev.userId) ev.userId = scrubString(ev.userId);
    ev.props = scrub(filterFields(ev.props, c.allow ?? o.allow, [...(o.deny ?? []), ...(c.deny ?? [])])) as Record<string, unknown>;
    const bytes = utf8Length(JSON.stringify(ev));
    if (bytes > maxEventBytes) return drop('tooLarge');
    batcher.add({ item: ev, bytes });
  };

  const release = () => {
    if (!config || consent == 'pending') return;
    const h = held;
    held = [];
    h.forEach(process);
  };

  const track = (type: EventType, name: string, props: Record<string, unknown> = {}) => {
    if (stopped) return;
    const ev: TelemetryEvent = {
      app: o.app,
      env: o.env ?? 'production',
      release: o.release ?? null,
      userId,
      sessionId,
      type,
      name: String(name),
      props: { ...props },
      ts: now(),
      rate: 1,
    };
    if (config && consent != 'pending') return process(ev);
    if (held.length >= MAX_HELD) return drop(consent == 'pending' ? 'consent' : 'overflow');
    held.push(ev);
  };

  // Unload: everything buffered and waiting goes by beacon while the budget lasts; the rest stays persisted.
  const unload = () => {
    batcher.flush();
    if (!sender.unload) return;
    for (const item of queue.pending()) {
      const b = body(item);
      const size = utf8Length(b);
      if (spent + size > unloadBudget || !sender.unload(b)) continue;
      spent += size;
      queue.remove(item);
      sent += item.e.length;
      live.delete(item);
    }
    save();
  };
  const online = () => {
    queue.resume();
    batcher.flush();
  };

  const loadConfig =
    typeof o.remoteConfig == 'function'
      ? o.remoteConfig
      : o.remoteConfig === false || !base
        ? async () => ({})
        : fetchConfig(base + '/api/telemetry/config', 5000);

  // Assigned below, once the api object exists.
  let self!: Telemetry;
  const ready = (async () => {
    const [c, saved] = await Promise.all([
      loadRemoteConfig(loadConfig, storage, key + '.config'),
      storage.get(key).catch(() => undefined),
    ]);
    if (stopped) return;
    config = c;
    try {
      const items = JSON.parse(saved ?? '[]') as Item[];
      for (const i of items) if (Array.isArray(i.e)) enqueue(i);
    } catch {
      // unreadable: start empty
    }
    for (const p of o.plugins ?? []) if (!c.plugins || c.plugins.includes(p.name)) cleanups.push(p.setup(self));
    release();
  })();

  cleanups.push(
    env.onOnline(online),
    env.onVisible(() => (spent = 0)),
    env.onHidden?.(unload),
    env.onPageHide?.(unload),
  );

  const stop = () => {
    if (stopped) return;
    stopped = true;
    cleanups.forEach((f) => f?.());
    batcher.flush();
    batcher.stop();
    queue.stop();
    save();
  };

  const api: Telemetry = (self = {
    sessionId,
    ready,
    trackPageView: (name, props) => track('page', name ?? globalThis.location?.pathname ?? '/', props),
    trackEvent: (name, props) => track('event', name, props),
    trackError(error, props) {
      const e = (error instanceof Error ? error : { name: 'Error', message: String(error) }) as Error;
      track('error', e.name || 'Error', { message: String(e.message).slice(0, 1000), stack: e.stack?.slice(0, 4000), ...props });
    },
    trackPerf: (name, value, props) => track('perf', name, { value, ...props }),
    trackApi: (name, props) => track('api', name, props),
    setUser: (id) => void (userId = id),
    setConsent(c) {
      consent = c;
      if (c == 'denied') {
        drop('consent', held.length);
        held = [];
      }
      release();
    },
    async flush() {
      await ready;
      batcher.flush();
      await queue.idle();
    },
    stats: () => {
      let queued = held.length + batcher.size;
      for (const i of live) queued += i.e.length;
      return { queued, sent, dropped: { ...dropped } };
    },
    onProgress(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    pause: () => queue.pause(),
    resume: () => queue.resume(),
    stop,
    async shutdown() {
      await Promise.race([api.flush(), new Promise((r) => setTimeout(r, timeout))]);
      stop();
    },
  });
  return api;
}

/** Whether `localStorage` exists and may be touched (sandboxed frames and blocked cookies throw). */
function hasLocalStorage(): boolean {
  try {
    return typeof localStorage == 'object' && !!localStorage;
  } catch {
    return false;
  }
}
