import { isRetryableClose, type CloseCode } from '../protocol/frames';

/**
 * {@link CloseCode}.Unauthorized, as a literal: the client core refers to close codes by number so
 * the `CloseCode` table stays out of bundles that do not import it.
 */
export const UNAUTHORIZED: (typeof CloseCode)['Unauthorized'] = 4100;

/**
 * Connection states. `idle` until `connect()`; `connecting` for the first attempt; `connected`
 * once the server accepted `connect`; `reconnecting` while waiting for / making another attempt
 * after a link was lost; `closed` after `close()` or a terminal refusal (see `reason`).
 *
 * ```
 * idle → connecting → connected → reconnecting → connected …
 *            └──────────────────────┴──────────────→ closed
 * ```
 */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Payload of the `state` event. */
export interface StateChange {
  state: ConnectionState;
  prev: ConnectionState;
  /** Why the state changed, when known (close reason, `client closed`, `heartbeat timeout`, ...). */
  reason?: string;
}

/** What adapters render: replaced (never mutated) on every transition, so `===` tells a change. */
export interface ConnectionSnapshot {
  readonly state: ConnectionState;
  readonly reason?: string;
}

/** How a link ended, from the transport close and the server's `close` frame when it sent one. */
export interface LinkEnd {
  code: number;
  reason: string;
  /** The server's `close.reconnect`, overriding the close-code table. */
  reconnect?: boolean;
  /** The server's `close.retryAfter` (or a refusal's `retryAfter`): minimum wait in ms. */
  retryAfter?: number;
}

/**
 * Whether the close-code table (docs/protocol.md) allows another attempt after `end`.
 * 4100 (token refused) always follows its row: with a token function one more attempt with a
 * fresh token, a second refusal in a row (`refusalsInARow` counts this one) is terminal; with a
 * fixed token it is terminal at once. Otherwise a `close` frame's `reconnect` wins over the code.
 */
export function mayReconnect(end: LinkEnd, tokenIsFunction: boolean, refusalsInARow: number): boolean {
  if (end.code === UNAUTHORIZED) return tokenIsFunction && refusalsInARow < 2;
  return end.reconnect ?? isRetryableClose(end.code);
}
