/**
 * `sdk-realtime/wechat`: the client in WeChat mini-programs (and uni-app, Taro, Alipay `my`).
 * A mini-program `require`s `miniprogram_dist/wechat/index.js` (package.json `miniprogram`, copied
 * to miniprogram_npm/ by "Build npm" in WeChat DevTools; built by scripts/build-miniprogram.mjs),
 * which requires the folder's core as `../index.js`. See docs/wechat.md.
 */
export { createWechatClient, type MiniProgramApi, type WechatClientOptions } from './client';
export {
  miniProgramEnvironment,
  type MiniProgramCallback,
  type MiniProgramEnvironment,
  type MiniProgramEnvironmentOptions,
  type MiniProgramLifecycleApi,
  type NetworkStatus,
} from './environment';
export {
  miniProgramTransport,
  type ConnectSocketOptions,
  type MiniProgramSocketApi,
  type MiniProgramSocketTask,
  type MiniProgramTransportOptions,
} from '../transports/miniprogram';
export {
  miniProgramStorage,
  StorageLimitError,
  type MiniProgramStorageApi,
  type MiniProgramStorageOptions,
} from '../storage/miniprogram';
