import type { TelemetryPlugin } from '../types';

/** What the plugin needs of a realtime client (`createClient` from 'sdk-realtime'). */
export interface ObservableClient {
  on(event: 'connected', fn: (info: { reconnected: boolean }) => void): () => void;
  on(event: 'disconnected', fn: (info: { code: number; reason: string; willReconnect: boolean }) => void): () => void;
  on(event: 'gap', fn: (info: { topic: string; reason: string }) => void): () => void;
  request(method: string, params?: unknown, options?: { timeout?: number }): Promise<unknown>;
  readonly state: string;
}

export interface RealtimePluginOptions {
  /** RPC method whose round trip measures latency (any cheap method the server has). Default none: no latency probe. */
  pingMethod?: string;
  /** Time between latency probes while connected, in ms. Default `60000`. */
  pingInterval?: number;
}

/**
 * Health of the realtime connection: `realtime.disconnected` (code, reason), `realtime.reconnected`
 * (downtime ms), `realtime.gap` (topic, reason: messages may have been missed) events, and
 * `realtime.rtt` perf samples from a request round trip when `pingMethod` is set.
 */
export function realtimePlugin(client: ObservableClient, o: RealtimePluginOptions = {}): TelemetryPlugin {
  return {
    name: 'realtime',
    setup(t) {
      let downSince: number | undefined;
      let reconnects = 0;
      const offs = [
        client.on('disconnected', (i) => {
          downSince ??= Date.now();
          t.trackEvent('realtime.disconnected', { code: i.code, reason: i.reason, willReconnect: i.willReconnect });
        }),
        client.on('connected', (i) => {
          if (i.reconnected) t.trackEvent('realtime.reconnected', { downtime: downSince === undefined ? 0 : Date.now() - downSince, reconnects: ++reconnects });
          downSince = undefined;
        }),
        client.on('gap', (i) => t.trackEvent('realtime.gap', { topic: i.topic, reason: i.reason })),
      ];
      let timer: ReturnType<typeof setInterval> | undefined;
      if (o.pingMethod) {
        const method = o.pingMethod;
        timer = setInterval(() => {
          if (client.state != 'connected') return;
          const start = Date.now();
          client.request(method, undefined, { timeout: 10_000 }).then(
            () => t.trackPerf('realtime.rtt', Date.now() - start),
            () => {},
          );
        }, o.pingInterval ?? 60_000);
      }
      return () => {
        offs.forEach((f) => f());
        clearInterval(timer);
      };
    },
  };
}
