/**
 * React bindings: `sdk-realtime/react`.
 *
 * ```tsx
 * <RealtimeProvider options={{ url: 'wss://rt.example.com/ws', app: 'shop', token: getJwt }}>
 *   <App />
 * </RealtimeProvider>
 * // anywhere below:
 * const last = useSubscription<Order>('order:12345:status', { onGap: refetch });
 * ```
 *
 * Thin by design: every hook is `useSyncExternalStore` over a core store (the client's connection
 * snapshot, or a shared per-topic store), so StrictMode, concurrent rendering and SSR behave.
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import {
  createClient,
  type ClientOptions,
  type ConnectionSnapshot,
  type ConnectionState,
  type GapInfo,
  type OnlineCount,
  type Publication,
  type RealtimeClient,
  type RealtimeError,
  type SubscribedInfo,
} from 'sdk-realtime';
import { bound, countKey, holdCount, holdTopic, last, messagesKey, type Fan, type Kind } from '../adapter-store/index';

const Context = createContext<RealtimeClient | null>(null);

/** Props of {@link RealtimeProvider}: a `client` you manage, or `options` to create one. */
export interface RealtimeProviderProps {
  /** A client created by the app. The provider connects it on mount and never closes it. */
  client?: RealtimeClient;
  /**
   * Options to create the client with (used when `client` is not given). The client is created
   * once, lazily, on first render (later changes of `options` are ignored), connected on mount and
   * closed on unmount. During SSR it is created but never connected.
   */
  options?: ClientOptions;
  children?: ReactNode;
}

/**
 * Makes a realtime client available to the hooks below it. Connects on mount (in an effect, so
 * never during SSR); closes on unmount only the client it created itself. An unmount followed at
 * once by a mount (StrictMode) keeps the connection.
 */
export function RealtimeProvider({ client, options, children }: RealtimeProviderProps) {
  const [created] = useState(() => (client ? undefined : createClient(options!)));
  const c = client ?? created!;
  const mounts = useRef(0);
  useEffect(() => {
    mounts.current++;
    c.connect();
    return () => {
      mounts.current--;
      if (c == created) void Promise.resolve().then(() => mounts.current || c.close());
    };
  }, [c, created]);
  return createElement(Context.Provider, { value: c }, children);
}

/** The client of the nearest {@link RealtimeProvider}; throws outside of one. */
export function useRealtimeClient(): RealtimeClient {
  const c = useContext(Context);
  if (!c) throw new Error('sdk-realtime: use the realtime hooks inside <RealtimeProvider>');
  return c;
}

/**
 * The connection snapshot `{ state, reason? }` (`idle` during SSR and before connecting); the
 * component re-renders on every state change.
 */
export function useConnectionState(): ConnectionSnapshot {
  const c = useRealtimeClient();
  return useSyncExternalStore(c.subscribeState, c.getSnapshot, c.getSnapshot);
}

/** What {@link useRealtime} returns. */
export interface UseRealtime {
  client: RealtimeClient;
  /** Current connection state (re-renders on change). */
  state: ConnectionState;
  /** `client.subscribe`, for imperative use in handlers and effects (remember to unsubscribe). */
  subscribe: RealtimeClient['subscribe'];
  /** `client.publish`: resolves once the server applied it; waits in the outbox while offline. */
  publish: RealtimeClient['publish'];
}

/** The client, its connection state and bound `subscribe`/`publish`. */
export function useRealtime(): UseRealtime {
  const client = useRealtimeClient();
  const { state } = useConnectionState();
  return { client, state, ...bound(client) };
}

/** Options of {@link useSubscription}. Handlers may change on every render without resubscribing. */
export interface UseSubscriptionOptions<T = unknown> {
  /** Called with every message of the topic, in order, once each. */
  onMessage?(message: Publication<T>): void;
  /** Messages may have been missed (server history trimmed or restarted): refetch the state. */
  onGap?(info: GapInfo): void;
  /** The server confirmed the subscription (first time and after every reconnect). */
  onSubscribed?(info: SubscribedInfo): void;
  /** The server refused the subscription (e.g. `forbidden`). */
  onError?(error: RealtimeError): void;
  /** `false` holds no subscription (and returns `undefined`). Default `true`. */
  enabled?: boolean;
}

/**
 * Subscribe to `topic` while mounted and return its last message (`undefined` before the first).
 * Components using the same topic share one server subscription; a message re-renders only them.
 * The latest `handler` is kept in a ref, so passing a new function each render does not resubscribe.
 */
export function useSubscription<T = unknown>(
  topic: string,
  handler?: ((message: Publication<T>) => void) | UseSubscriptionOptions<T>,
): Publication<T> | undefined {
  const opts = typeof handler == 'function' ? { onMessage: handler } : (handler ?? {});
  return useShared(holdTopic, messagesKey, topic, opts.enabled, (kind, arg) =>
    (opts as Record<Kind, ((a: unknown) => void) | undefined>)[kind]?.(arg),
  ) as Publication<T> | undefined;
}

/**
 * The online count `{ users, connections }` of `topic` (watched while mounted), `undefined` until
 * the server first answers and during SSR. Updates come at most once per server `presenceInterval`.
 * `options.enabled`: `false` watches nothing and returns `undefined` (default `true`).
 */
export function useOnlineCount(topic: string, options?: { enabled?: boolean }): OnlineCount | undefined {
  return useShared(holdCount, countKey, topic, options?.enabled) as OnlineCount | undefined;
}

const none = () => undefined;

function useShared(
  holdFn: typeof holdTopic,
  keyOf: (topic: string) => string,
  topic: string,
  enabled = true,
  fan?: Fan,
): unknown {
  const c = useRealtimeClient();
  // The latest listener, so new handlers each render do not resubscribe.
  const fanRef = useRef(fan);
  fanRef.current = fan;
  const subscribe = useCallback(
    (change: () => void) =>
      enabled
        ? holdFn(c, topic, (kind, arg) => {
            fanRef.current?.(kind, arg);
            if (kind == 'onMessage') change();
          })
        : none,
    [c, topic, enabled, holdFn],
  );
  return useSyncExternalStore(subscribe, () => (enabled ? last(c, keyOf(topic)) : undefined), none);
}

/** What {@link useFlag} needs of a flags store (`createFlags` from `sdk-realtime/flags`). */
export interface FlagStoreLike {
  subscribe(listener: () => void): () => void;
  get<T>(key: string, fallback: T): T;
}

const FlagsContext = createContext<FlagStoreLike | null>(null);

/** Props of {@link FlagsProvider}. */
export interface FlagsProviderProps {
  /** The `createFlags` store the `useFlag(key, fallback)` calls below read. The app closes it. */
  flags: FlagStoreLike;
  children?: ReactNode;
}

/** Makes a `createFlags` store available to `useFlag(key, fallback)` below it. */
export function FlagsProvider({ flags, children }: FlagsProviderProps) {
  return createElement(FlagsContext.Provider, { value: flags }, children);
}

/**
 * A flag's value, `fallback` until known (and during SSR). The component re-renders only when
 * this flag's value changes. Reads the store of the nearest {@link FlagsProvider} (throws outside
 * of one), or the store given first: `useFlag(flags, key, fallback)`.
 */
export function useFlag<T>(key: string, fallback: T): T;
export function useFlag<T>(flags: FlagStoreLike, key: string, fallback: T): T;
export function useFlag<T>(a: string | FlagStoreLike, b: unknown, c?: T): T {
  const provided = useContext(FlagsContext);
  const named = typeof a == 'string';
  const flags = named ? provided : a;
  const key = (named ? a : b) as string;
  const fallback = (named ? b : c) as T;
  if (!flags) throw new Error('sdk-realtime: use useFlag(key) inside <FlagsProvider>');
  return useSyncExternalStore(flags.subscribe, () => flags.get(key, fallback), () => fallback);
}
