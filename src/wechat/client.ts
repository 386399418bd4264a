import { createClient, type ClientOptions, type Environment, type RealtimeClient, type Storage } from 'sdk-realtime';
import { miniProgramStorage, type MiniProgramStorageApi, type MiniProgramStorageOptions } from '../storage/miniprogram';
import { miniProgramTransport, type MiniProgramSocketApi, type MiniProgramTransportOptions } from '../transports/miniprogram';
import { miniProgramEnvironment, type MiniProgramLifecycleApi } from './environment';

/** Everything {@link createWechatClient} uses from a mini-program API object. */
export type MiniProgramApi = MiniProgramSocketApi & MiniProgramStorageApi & MiniProgramLifecycleApi;

/** Options of {@link createWechatClient}: the client options, with the mini-program world wired in. */
export interface WechatClientOptions extends Omit<ClientOptions, 'transport' | 'storage' | 'environment'> {
  /** The API object: `wx`, `uni`, `Taro` or Alipay's `my`. Default: `globalThis.wx`. */
  api?: MiniProgramApi;
  /** Socket options (`header`, `protocols`, `timeout`). Default: none. */
  socket?: Omit<MiniProgramTransportOptions, 'api' | 'hold'>;
  /**
   * Where unsent publishes persist across app restarts. Default: {@link miniProgramStorage} over
   * `api` (limits from `storageLimits`); `false`: not persisted; or any {@link Storage}.
   */
  storage?: Storage | false;
  /** Per-key and total limits of the default storage. Default: WeChat's (1 MB per key, 10 MB in all). */
  storageLimits?: Pick<MiniProgramStorageOptions, 'maxKeyBytes' | 'maxTotalBytes'>;
  /**
   * Life-cycle events. Default: `onAppShow`/`onAppHide`/`onNetworkStatusChange` of `api`, and
   * while the app is hidden the client is paused (`client.pause()`: no connection attempt, none
   * counted towards `reconnect.maxAttempts`), and while offline no attempt reaches the network
   * (each is held back with close code 1001 and retried with backoff); on show or back online the
   * client reconnects at once. A custom environment replaces these behaviours.
   */
  environment?: Environment;
}

/**
 * A realtime client for WeChat mini-programs (and uni-app, Taro, Alipay): `connectSocket`
 * transport, mini-program storage for the outbox, app show/hide and network events.
 *
 * ```js
 * const { createWechatClient } = require('sdk-realtime/wechat');
 * const client = createWechatClient({ url: 'wss://rt.example.com/ws', app: 'shop', token: getToken });
 * client.connect();
 * ```
 */
export function createWechatClient(options: WechatClientOptions): RealtimeClient {
  const { api, socket, storage, storageLimits, environment, ...rest } = options;
  const env = environment ? undefined : miniProgramEnvironment({ api });
  const client = createClient({
    ...rest,
    transport: miniProgramTransport({ ...socket, api, hold: env?.hold }),
    storage: storage === false ? undefined : (storage ?? miniProgramStorage({ api, ...storageLimits })),
    environment: environment ?? env,
  });
  if (env) {
    // In the background the client is paused: no attempts, none counted towards
    // `reconnect.maxAttempts`, however long the app stays hidden; on show it resumes at once.
    // (The transport's hold still covers an attempt already on its way when the app hid, and offline.)
    // Listened to from `connect()` to `close()`, like the client's own platform listeners.
    let off: (() => void)[] | undefined;
    client.on('state', ({ state }) => {
      if (state == 'closed') {
        off?.forEach((stop) => stop());
        off = undefined;
      } else {
        off ??= [env.onHidden(() => client.pause()), env.onVisible(() => client.resume())];
      }
    });
  }
  return client;
}
