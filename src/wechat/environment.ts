import type { Environment } from 'sdk-realtime';

/** A mini-program life-cycle or network-status callback (`wx.onAppShow(cb)` and the like). */
export type MiniProgramCallback<T = unknown> = (res: T) => void;
/** Network status as `onNetworkStatusChange` reports it. */
export interface NetworkStatus {
  isConnected: boolean;
  networkType?: string;
}

/** The life-cycle and network part of a mini-program API object (`wx`, `uni`, `Taro`, `my`). Every member is optional: a missing one is inert. */
export interface MiniProgramLifecycleApi {
  onAppShow?(cb: MiniProgramCallback): void;
  offAppShow?(cb: MiniProgramCallback): void;
  onAppHide?(cb: MiniProgramCallback): void;
  offAppHide?(cb: MiniProgramCallback): void;
  onNetworkStatusChange?(cb: MiniProgramCallback<NetworkStatus>): void;
  offNetworkStatusChange?(cb: MiniProgramCallback<NetworkStatus>): void;
  getNetworkType?(options: { success?: MiniProgramCallback<{ networkType: string }> }): void;
}

/** An {@link Environment} that also says whether a connection attempt is pointless right now. */
export interface MiniProgramEnvironment extends Environment {
  /** Whether the app is in the background (between `onAppHide` and `onAppShow`). */
  isHidden(): boolean;
  /** A reason to hold connection attempts back (`app hidden`, `offline`), or `undefined`. Pass it as the transport's `hold`. */
  hold(): string | undefined;
  /** Call `fn` when the app goes to the background (always present here). */
  onHidden(fn: () => void): () => void;
}

/** Options of {@link miniProgramEnvironment}. */
export interface MiniProgramEnvironmentOptions {
  /** The API object. Default: `globalThis.wx`. */
  api?: MiniProgramLifecycleApi;
}

/**
 * Environment events of a mini-program: `onAppShow` → visible, `onAppHide` → hidden,
 * `onNetworkStatusChange` → online/offline. Platform listeners are registered while at least one
 * listener is subscribed (the client subscribes from `connect()` to `close()`) and removed with
 * `off…` where the platform has it.
 */
export function miniProgramEnvironment(options: MiniProgramEnvironmentOptions = {}): MiniProgramEnvironment {
  const api = (): MiniProgramLifecycleApi => options.api ?? (globalThis as { wx?: MiniProgramLifecycleApi }).wx ?? {};
  const listeners = { online: new Set<() => void>(), visible: new Set<() => void>(), hidden: new Set<() => void>() };
  let hidden = false;
  let online = true;
  let active = false;
  const emit = (set: Set<() => void>) => {
    for (const fn of [...set]) fn();
  };
  const onShow = () => {
    hidden = false;
    emit(listeners.visible);
  };
  const onHide = () => {
    hidden = true;
    emit(listeners.hidden);
  };
  const onNetwork = (res: NetworkStatus) => {
    const was = online;
    online = res?.isConnected !== false;
    if (online && !was) emit(listeners.online);
  };
  const start = () => {
    if (active) return;
    active = true;
    const a = api();
    a.onAppShow?.(onShow);
    a.onAppHide?.(onHide);
    a.onNetworkStatusChange?.(onNetwork);
    a.getNetworkType?.({ success: (res) => (online = res?.networkType !== 'none') });
  };
  const stop = () => {
    if (!active || listeners.online.size + listeners.visible.size + listeners.hidden.size) return;
    const a = api();
    // Without `off…` the platform keeps calling our (then listener-less) handlers: harmless.
    if (!a.offAppShow || !a.offAppHide) return;
    active = false;
    a.offAppShow(onShow);
    a.offAppHide(onHide);
    a.offNetworkStatusChange?.(onNetwork);
  };
  const listen = (set: Set<() => void>) => (fn: () => void) => {
    const entry = () => fn();
    set.add(entry);
    start();
    return () => {
      set.delete(entry);
      stop();
    };
  };
  return {
    onOnline: listen(listeners.online),
    onVisible: listen(listeners.visible),
    onHidden: listen(listeners.hidden),
    isOnline: () => online,
    isHidden: () => hidden,
    hold: () => (hidden ? 'app hidden' : online ? undefined : 'offline'),
  };
}
