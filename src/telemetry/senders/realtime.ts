import type { Batch, Sender } from '../types';

/** What the sender needs of a realtime client (`createClient` from 'sdk-realtime'). */
export interface RequestingClient {
  request<R = unknown>(method: string, params?: unknown, options?: { timeout?: number }): Promise<R>;
}

/** Wire error codes mapped to the HTTP status the task queue understands. */
const STATUS: Record<string, number> = { rate_limited: 429, too_large: 413, bad_request: 400, forbidden: 403, method_not_found: 404 };

/**
 * Upload over the realtime connection itself: `client.request('telemetry.batch', batch)`. The server
 * registers that method when telemetry is enabled. While disconnected, requests wait in the client's outbox.
 */
export function realtimeSender(client: RequestingClient, method = 'telemetry.batch'): Sender {
  return {
    async send(body) {
      try {
        await client.request(method, JSON.parse(body) as Batch);
        return { status: 200 };
      } catch (e) {
        const err = e as { code?: string; retryAfter?: number };
        return { status: STATUS[err.code ?? ''] ?? 0, retryAfter: err.retryAfter };
      }
    },
  };
}
