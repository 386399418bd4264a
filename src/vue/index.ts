/**
 * Vue 3 bindings: `sdk-realtime/vue`.
 *
 * ```ts
 * app.use(createRealtime({ options: { url: 'wss://rt.example.com/ws', app: 'shop', token: getJwt } }));
 * // in setup() or a Pinia setup store:
 * const last = useSubscription<Order>('order:12345:status', { onGap: refetch });
 * ```
 *
 * Thin by design: each composable is a `shallowRef` fed by a core store (the client's connection
 * snapshot, or a shared per-topic store) and released with `onScopeDispose`.
 */
import {
  inject,
  onScopeDispose,
  shallowRef,
  toValue,
  watch,
  type App,
  type InjectionKey,
  type MaybeRefOrGetter,
  type ShallowRef,
} from 'vue';
import {
  createClient,
  type ClientOptions,
  type ConnectionSnapshot,
  type GapInfo,
  type OnlineCount,
  type Publication,
  type RealtimeClient,
  type RealtimeError,
  type SubscribedInfo,
} from 'sdk-realtime';
import { bound, countKey, holdCount, holdTopic, last, messagesKey, type Fan, type Kind } from '../adapter-store/index';

/** The provide/inject key of the client (`inject(realtimeKey)`). */
export const realtimeKey: InjectionKey<RealtimeClient> = Symbol('sdk-realtime');

/** Composables hold nothing where there is no `window` (server-side rendering): refs keep their initial value. */
const inBrowser = typeof window != 'undefined';

/** Options of {@link createRealtime}: a `client` you manage, or `options` to create one. */
export interface RealtimeOptions {
  /** A client created by the app: connected on install, never closed by the plugin. */
  client?: RealtimeClient;
  /** Options to create the client with (when `client` is not given): closed when the app unmounts. */
  options?: ClientOptions;
}

/** The plugin; `client` is also usable outside components (routers, stores). */
export interface RealtimePlugin {
  readonly client: RealtimeClient;
  install(app: App): void;
}

/**
 * Create the plugin: `app.use(createRealtime({ options }))`. On install it provides the client
 * and connects it (in a browser only: never during SSR); the client it created is closed when the
 * app unmounts.
 */
export function createRealtime({ client, options }: RealtimeOptions): RealtimePlugin {
  const c = client ?? createClient(options!);
  return {
    client: c,
    install(app) {
      app.provide(realtimeKey, c);
      if (!inBrowser) return;
      c.connect();
      if (client) return;
      const unmount = app.unmount;
      app.unmount = () => {
        unmount();
        c.close();
      };
    },
  };
}

/** The provided client; throws when the plugin is not installed (or outside `setup`). */
export function useRealtimeClient(): RealtimeClient {
  const c = inject(realtimeKey, null);
  if (!c) throw new Error('sdk-realtime: install createRealtime() with app.use() before using the realtime composables');
  return c;
}

/** A shallowRef of the connection snapshot `{ state, reason? }` (`idle` during SSR and before connecting). */
export function useConnectionState(): Readonly<ShallowRef<ConnectionSnapshot>> {
  const c = useRealtimeClient();
  const state = shallowRef(c.getSnapshot());
  if (inBrowser) onScopeDispose(c.subscribeState(() => (state.value = c.getSnapshot())));
  return state;
}

/** What {@link useRealtime} returns. */
export interface UseRealtime {
  client: RealtimeClient;
  /** The connection snapshot, as a shallowRef. */
  state: Readonly<ShallowRef<ConnectionSnapshot>>;
  /** `client.subscribe`, for imperative use (remember to unsubscribe). */
  subscribe: RealtimeClient['subscribe'];
  /** `client.publish`: resolves once the server applied it; waits in the outbox while offline. */
  publish: RealtimeClient['publish'];
}

/** The client, a shallowRef of its connection state and bound `subscribe`/`publish`. */
export function useRealtime(): UseRealtime {
  const client = useRealtimeClient();
  return { client, state: useConnectionState(), ...bound(client) };
}

/** Options of {@link useSubscription}. */
export interface UseSubscriptionOptions<T = unknown> {
  /** Called with every message of the topic, in order, once each. */
  onMessage?(message: Publication<T>): void;
  /** Messages may have been missed (server history trimmed or restarted): refetch the state. */
  onGap?(info: GapInfo): void;
  /** The server confirmed the subscription (first time and after every reconnect). */
  onSubscribed?(info: SubscribedInfo): void;
  /** The server refused the subscription (e.g. `forbidden`). */
  onError?(error: RealtimeError): void;
  /** `false` holds no subscription (the ref is `undefined`). A ref or getter is watched. Default `true`. */
  enabled?: MaybeRefOrGetter<boolean>;
}

/**
 * Subscribe to `topic` (a string, ref or getter: a change moves the subscription) until the
 * calling scope is disposed; returns a shallowRef of the last message (`undefined` before the
 * first). Everything using the same topic shares one server subscription.
 */
export function useSubscription<T = unknown>(
  topic: MaybeRefOrGetter<string>,
  handler?: ((message: Publication<T>) => void) | UseSubscriptionOptions<T>,
): Readonly<ShallowRef<Publication<T> | undefined>> {
  const opts = typeof handler == 'function' ? { onMessage: handler } : (handler ?? {});
  return useShared(holdTopic, messagesKey, topic, opts.enabled, (kind, arg) =>
    (opts as Record<Kind, ((a: unknown) => void) | undefined>)[kind]?.(arg),
  ) as ShallowRef<Publication<T> | undefined>;
}

/**
 * A shallowRef of the online count `{ users, connections }` of `topic` (watched until the scope
 * is disposed); `undefined` until the server first answers. Updates come at most once per server
 * `presenceInterval`. `options.enabled`: `false` watches nothing (default `true`).
 */
export function useOnlineCount(
  topic: MaybeRefOrGetter<string>,
  options?: { enabled?: MaybeRefOrGetter<boolean> },
): Readonly<ShallowRef<OnlineCount | undefined>> {
  return useShared(holdCount, countKey, topic, options?.enabled) as ShallowRef<OnlineCount | undefined>;
}

function useShared(
  holdFn: typeof holdTopic,
  keyOf: (topic: string) => string,
  topic: MaybeRefOrGetter<string>,
  enabled: MaybeRefOrGetter<boolean> = true,
  fan?: Fan,
): ShallowRef<unknown> {
  const c = useRealtimeClient();
  const value = shallowRef<unknown>();
  let release = () => {};
  if (inBrowser) {
    watch(
      [() => toValue(topic), () => toValue(enabled)],
      ([t, on]) => {
        release();
        release = on
          ? holdFn(c, t, (kind, arg) => {
              fan?.(kind, arg);
              if (kind == 'onMessage') value.value = arg;
            })
          : () => {};
        value.value = on ? last(c, keyOf(t)) : undefined;
      },
      { immediate: true },
    );
    onScopeDispose(() => release());
  }
  return value;
}

/** What {@link useFlag} needs of a flags store (`createFlags` from `sdk-realtime/flags`). */
export interface FlagStoreLike {
  subscribe(listener: () => void): () => void;
  get<T>(key: string, fallback: T): T;
}

/**
 * The provide/inject key of the flags store `useFlag(key, fallback)` reads:
 * `app.provide(flagsKey, createFlags(client))` (or `provide()` in a component, for its subtree).
 * The app closes the store.
 */
export const flagsKey: InjectionKey<FlagStoreLike> = Symbol();

/**
 * A shallowRef of a flag's value, `fallback` until known, updated only when this flag's value
 * changes, until the scope is disposed. Reads the store provided as {@link flagsKey} (throws when
 * none is provided), or the store given first: `useFlag(flags, key, fallback)`.
 */
export function useFlag<T>(key: string, fallback: T): Readonly<ShallowRef<T>>;
export function useFlag<T>(flags: FlagStoreLike, key: string, fallback: T): Readonly<ShallowRef<T>>;
export function useFlag<T>(a: string | FlagStoreLike, b: unknown, c?: T): Readonly<ShallowRef<T>> {
  const named = typeof a == 'string';
  const flags = named ? inject(flagsKey, null) : a;
  const key = (named ? a : b) as string;
  const fallback = (named ? b : c) as T;
  if (!flags) throw new Error('sdk-realtime: provide(flagsKey, flags) before using useFlag(key)');
  const value = shallowRef(flags.get(key, fallback));
  onScopeDispose(flags.subscribe(() => (value.value = flags.get(key, fallback))));
  return value;
}
