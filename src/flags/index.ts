/**
 * `sdk-realtime/flags`: feature flags and remote config, evaluated on the server for the verified
 * user and delivered over the realtime connection (the `$flags` stream), or polled over HTTP.
 *
 * ```ts
 * const flags = createFlags(client, { defaults: { newCheckout: false }, storage: webStorage() });
 * await flags.ready;
 * if (flags.get('newCheckout', false)) showNewCheckout();
 * flags.on('change', (keys) => rerender(keys));
 * ```
 * See docs/flags.md.
 * @packageDocumentation
 */
import type { Publication, RealtimeClient, Storage } from 'sdk-realtime';

/** The stream the server sends evaluated flags on. */
export const FLAGS_TOPIC = '$flags';

/** Options of {@link createFlags}. */
export interface FlagsOptions {
  /** Values served until the first snapshot (or the stored one) arrives. Default `{}`. */
  defaults?: Record<string, unknown>;
  /** Where the last snapshot is kept, so the next start is ready at once. Default: not kept. */
  storage?: Storage;
  /** Key of the snapshot in `storage`. Default `"sdk-realtime:flags"`. */
  storageKey?: string;
  /** Without a realtime client: the server's HTTP base URL, polled at `GET /api/flags`. */
  url?: string;
  /** Without a realtime client: the app (sent as `?app=` for a token without an `app` claim). Default: none. */
  app?: string;
  /** Without a realtime client: the bearer token (or a function giving it) for the polls. */
  token?: string | (() => string | Promise<string>);
  /** Without a realtime client: ms between polls; doubled after a failure, up to 5 minutes. Default `30000`. */
  interval?: number;
  /** Without a realtime client: the fetch to poll with. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/**
 * What the server said about one flag: its value, and (from the server, not from storage) why
 * (`reason`, OpenFeature names: `STATIC`, `TARGETING_MATCH`, `SPLIT`, `DEFAULT`, `DISABLED`), the
 * `variant` when it has one, and the definition's `version`.
 */
export interface FlagDetails {
  value: unknown;
  /** Absent when the value comes from storage (the last run's snapshot), not from the server. */
  reason?: string;
  variant?: string;
  version?: number;
}

/** Feature flags of one user, served synchronously from a local cache. */
export interface Flags {
  /** The flag's value, or `fallback` when it is unknown. Synchronous, from the cache. */
  get(key: string, fallback: boolean): boolean;
  get(key: string, fallback: string): string;
  get(key: string, fallback: number): number;
  get<T>(key: string, fallback: T): T;
  /** Resolves once: from storage, or from the first snapshot, whichever comes first. */
  readonly ready: Promise<void>;
  /**
   * What the server (or storage) said about `key`; `undefined` when neither knows it (a value
   * from `defaults` only has no details). Synchronous, from the cache.
   */
  getDetails(key: string): FlagDetails | undefined;
  /**
   * `change`: called with the keys whose values changed. `snapshot`: a full set from the server
   * was applied (every connect and reconnect, every answered poll), after its `change`.
   * Returns an unsubscribe function.
   */
  on(event: 'change' | 'snapshot', listener: (keys: string[]) => void): () => void;
  /** Store interface for adapters (`useSyncExternalStore`, `shallowRef`). */
  subscribe(listener: () => void): () => void;
  /** The current values, a new object after every change. */
  getSnapshot(): Readonly<Record<string, unknown>>;
  /** Stop listening and polling. Idempotent. */
  close(): void;
}

type Results = Record<string, FlagDetails | null>;

// Own keys only: a flag named `constructor` must not read Object.prototype.
const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Keep a synchronous cache of the flags the server evaluated for this connection's user. With a
 * realtime client, subscribes to `$flags` (a snapshot on every connect, patches on change);
 * without one, polls `options.url` + `/api/flags` with `ETag`.
 */
export function createFlags(client: RealtimeClient | undefined, options: FlagsOptions = {}): Flags {
  const { storage, storageKey = 'sdk-realtime:flags', interval = 30000 } = options;
  let values: Record<string, unknown> = { ...options.defaults };
  let details: Results = {};
  let fresh = false;
  let closed = false;
  const listeners = new Set<(keys: string[]) => void>();
  const snapshots = new Set<(keys: string[]) => void>();
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));

  const apply = (flags: Results, replace: boolean) => {
    const next: Record<string, unknown> = replace ? { ...options.defaults } : { ...values };
    details = replace ? { ...flags } : { ...details, ...flags };
    for (const k in flags) {
      const r = flags[k];
      if (r) next[k] = r.value;
      else if (options.defaults && k in options.defaults) next[k] = options.defaults[k];
      else delete next[k];
    }
    // An unchanged value keeps its object, so adapters comparing by identity do not re-render.
    const keys = [...new Set([...Object.keys(values), ...Object.keys(next)])].filter((k) => JSON.stringify(values[k]) !== JSON.stringify(next[k]) || ((next[k] = values[k]), 0));
    values = next;
    if (keys.length) for (const fn of [...listeners]) fn(keys);
  };
  const received = (flags: Results, replace: boolean) => {
    if (closed) return;
    fresh = true;
    apply(flags, replace);
    markReady();
    if (replace) for (const fn of [...snapshots]) fn(Object.keys(flags));
    if (storage) storage.set(storageKey, JSON.stringify(values)).catch(() => {});
  };

  storage?.get(storageKey).then(
    (text) => {
      if (fresh || closed || !text) return;
      const stored = JSON.parse(text) as Record<string, unknown>;
      const flags: Results = {};
      for (const k in stored) flags[k] = { value: stored[k] };
      apply(flags, true);
      markReady();
    },
    () => {},
  );

  let stop: () => void;
  if (client) {
    const sub = client.subscribe(FLAGS_TOPIC, (m: Publication<{ type: string; flags: Results }>) => {
      const d = m.data;
      if (d && typeof d.flags === 'object') received(d.flags, d.type === 'snapshot');
    });
    stop = () => sub.unsubscribe();
  } else {
    const doFetch = options.fetch ?? globalThis.fetch;
    let etag: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wait = interval;
    const poll = async () => {
      try {
        const token = typeof options.token === 'function' ? await options.token() : options.token;
        const headers: Record<string, string> = {};
        if (token) headers.authorization = `Bearer ${token}`;
        if (etag) headers['if-none-match'] = etag;
        const res = await doFetch(`${options.url}/api/flags${options.app ? '?app=' + encodeURIComponent(options.app) : ''}`, { headers });
        if (res.status === 200) {
          etag = res.headers.get('etag') ?? undefined;
          received(((await res.json()) as { flags: Results }).flags, true);
        }
        const after = Number(res.headers.get('retry-after')) * 1000;
        wait = res.ok || res.status === 304 ? interval : Math.max(after || 0, Math.min(wait * 2, 300000));
      } catch {
        wait = Math.min(wait * 2, 300000);
      }
      if (!closed) timer = setTimeout(poll, wait);
    };
    void poll();
    stop = () => clearTimeout(timer);
  }

  const on = (fn: (keys: string[]) => void, set = listeners) => {
    set.add(fn);
    return () => void set.delete(fn);
  };
  return {
    get: ((key: string, fallback: unknown) => (own(values, key) ? values[key] : fallback)) as Flags['get'],
    getDetails: (key) => (own(details, key) && details[key]) || undefined,
    ready,
    on: (event, fn) => on(fn, event == 'snapshot' ? snapshots : listeners),
    subscribe: (fn) => on(() => fn()),
    getSnapshot: () => values,
    close() {
      if (closed) return;
      closed = true;
      stop();
      listeners.clear();
      snapshots.clear();
    },
  };
}
