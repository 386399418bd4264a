/**
 * sdk-realtime: a realtime client that survives real networks.
 *
 * ```ts
 * import { createClient } from 'sdk-realtime';
 * const client = createClient({ url: 'wss://rt.example.com/ws', app: 'shop', token: () => getJwt() });
 * client.subscribe('order:12345:status', (m) => render(m.data));
 * client.connect();
 * ```
 */
export { createClient } from './client/client';
export type {
  ClientEvents,
  ConnectedInfo,
  DisconnectedInfo,
  PayloadOf,
  PublishOptions,
  RealtimeClient,
  RequestOptions,
  TopicMap,
} from './client/client';
export type { ClientOptions, TokenSource } from './client/options';
export { RealtimeError } from './client/errors';
export type { ConnectionSnapshot, ConnectionState, StateChange } from './client/state';
export type { GapInfo, MessageHandler, SubscribeOptions, SubscribedInfo, Subscription, SubscriptionState } from './client/subscriptions';
export type { OnlineCount } from './client/presence';
export type { SchemaOutput, StandardResult, StandardSchemaV1 } from './client/schema';
export { ErrorCode, CloseCode, PROTOCOL_VERSION } from './protocol/frames';
export type { Publication, PublishResult, StreamPosition } from './protocol/frames';
export { webSocketTransport } from './transports/websocket';
export type { WebSocketConstructor, WebSocketLike, WebSocketTransportOptions } from './transports/websocket';
export type { Transport, TransportConnection, TransportHandlers } from './transports/types';
export { memoryStorage } from './storage/memory';
export { webStorage, type WebStorageLike, type WebStorageOptions } from './storage/web';
export { indexedDBStorage, type IndexedDBStorageOptions } from './storage/indexeddb';
export type { Storage } from './storage/types';
export { browserEnvironment } from './util/environment';
export type { Environment } from './util/environment';
export type { Timers } from './util/timers';
export type { Listener } from './util/emitter';
