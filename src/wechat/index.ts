/**
 * `sdk-realtime/wechat`: the client in WeChat mini-programs (and uni-app, Taro, Alipay `my`).
 * The CommonJS build (`dist/wechat/index.cjs`) is what a mini-program `require`s after
 * "Build npm" in WeChat DevTools; it requires the core as `sdk-realtime`. See docs/wechat.md.
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
