import { webSocketTransport, type Transport } from 'sdk-realtime';
import { channelTransport, messagePort, type ChannelTransport, type MessageTargetLike } from '../transports/channel';
import { createChannelHost } from './host';
import { multiplexTransport } from './mux';

/** The global scope of a SharedWorker, as {@link serveSharedWorker} uses it. */
export interface SharedWorkerScopeLike {
  addEventListener(type: 'connect', listener: (ev: { ports: readonly MessageTargetLike[] }) => void): void;
}

/** Options of {@link serveSharedWorker}. */
export interface SharedWorkerHostOptions {
  /** How the worker reaches the server. Default {@link webSocketTransport}`()`. */
  transport?: Transport;
  /** Most clients (tabs) sharing the connection. Default 64. */
  maxClients?: number;
}

/**
 * Run in a SharedWorker script: every tab that connects shares ONE server connection per URL
 * ({@link multiplexTransport}). A tab that closes without a word is dropped after three server
 * ping intervals without an answer from it.
 *
 * ```ts
 * // realtime-worker.ts, built as its own script
 * import { serveSharedWorker } from 'sdk-realtime/channel';
 * serveSharedWorker(self as never);
 * ```
 */
export function serveSharedWorker(scope: SharedWorkerScopeLike, options: SharedWorkerHostOptions = {}): void {
  const max = options.maxClients ?? 64;
  const mux = multiplexTransport(options.transport ?? webSocketTransport(), { maxClients: max });
  scope.addEventListener('connect', (ev) => {
    for (const port of ev.ports) createChannelHost(messagePort(port), { transport: mux, maxConnections: max });
  });
}

/**
 * The tab side of {@link serveSharedWorker}: a transport through `worker.port`.
 *
 * ```ts
 * const worker = new SharedWorker(new URL('./realtime-worker.js', import.meta.url), { type: 'module', name: 'sdk-realtime' });
 * const client = createClient({ url, app: 'shop', token, transport: sharedWorkerTransport(worker) });
 * addEventListener('pagehide', () => client.close());
 * ```
 */
export function sharedWorkerTransport(worker: { port: MessageTargetLike }): ChannelTransport {
  return channelTransport(messagePort(worker.port));
}
