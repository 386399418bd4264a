/**
 * `sdk-realtime/telemetry`: page views, events, errors, API calls and Web Vitals, sampled, scrubbed,
 * batched, persisted and uploaded by a gentle task queue. Nothing runs at import time.
 */
export { createTelemetry, type Telemetry } from './tracker';
export type { TelemetryOptions } from './options';
export type {
  Batch,
  DropReason,
  EventType,
  RemoteConfig,
  SendResult,
  Sender,
  TelemetryEvent,
  TelemetryPlugin,
  TelemetryStats,
  TrackApi,
} from './types';
export type { Consent, PrivacySignals } from './consent';
export { browserPrivacySignals } from './consent';
export { browserTelemetryEnvironment, type TelemetryEnvironment } from './environment';
export { fnv1a } from './hash';
export { inSample } from './sampling';
export { scrub, scrubString } from './scrub';
export { filterFields } from './fields';
export type { BackoffBounds } from '../util/backoff';
export { createTaskQueue, type TaskQueue, type TaskQueueOptions, type TaskResult, type QueueEvent } from './queue';
export { createBatcher, type Batcher } from './batcher';
export { fetchSender, type FetchSenderOptions } from './senders/fetch';
export { wxSender, type WxRequestApi } from './senders/wx';
export { realtimeSender, type RequestingClient } from './senders/realtime';
// The same storage adapters the realtime client persists through (src/storage).
export { webStorage, type WebStorageLike, type WebStorageOptions } from '../storage/web';
export { indexedDBStorage, type IndexedDBStorageOptions } from '../storage/indexeddb';
export { miniProgramStorage, type MiniProgramStorageOptions } from '../storage/miniprogram';
export { errorsPlugin, type ErrorsPluginOptions } from './plugins/errors';
export { routesPlugin, type RoutesPluginOptions } from './plugins/routes';
export { routeTracker, reactRouteTracker, vueRouteTracker } from './plugins/route-tracker';
export { httpPlugin, routeOf, type HttpPluginOptions } from './plugins/http';
export { realtimePlugin, type ObservableClient, type RealtimePluginOptions } from './plugins/realtime';
