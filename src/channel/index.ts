/**
 * `sdk-realtime/channel`: run the client in one place and the socket in another. The page's
 * client uses {@link channelTransport}; the host (a native app, a Worker, a SharedWorker, the
 * leader tab) owns the socket. docs/channel.md describes the envelope and the native side.
 */
export {
  CHANNEL,
  channelTransport,
  messagePort,
  textPort,
  toEnvelope,
  type ChannelEnvelope,
  type ChannelPort,
  type ChannelTransport,
  type MessageTargetLike,
} from '../transports/channel';
export { createChannelHost, type ChannelHost, type ChannelHostOptions } from './host';
export { multiplexTransport, type MultiplexOptions } from './mux';
export { sharedTabs, type BroadcastChannelCtor, type LockManagerLike, type SharedTabs, type SharedTabsOptions, type TabRole } from './shared';
export { serveSharedWorker, sharedWorkerTransport, type SharedWorkerHostOptions, type SharedWorkerScopeLike } from './worker';
