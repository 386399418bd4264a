/**
 * The native sdk-realtime wire protocol: one JSON object per WebSocket text frame, tagged by `t`.
 * docs/protocol.md is the human-readable version of this file; keep the two in step.
 *
 * Client → server frames that expect an answer carry a numeric `id`; the server answers each with
 * exactly one `reply` frame carrying the same `id` and either `result` or `error`.
 */

/** Protocol version spoken by this build. Sent in `connect`; the server refuses what it cannot speak. */
export const PROTOCOL_VERSION = 1;

/** Default largest frame either side accepts, in bytes (1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** A position in one stream: the server's history `epoch` and the last `offset` seen in it. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** A message as it travels on the wire and as handlers receive it. */
export interface Publication<T = unknown> {
  /** Stream the message was delivered on: a topic, or `user:<id>` / `device:<id>` for personal streams. */
  topic: string;
  /** Server-assigned message id, the same on every stream the message went to. */
  id: string;
  /** Position of this message in `topic`'s stream (1-based, increasing by one per message). */
  offset: number;
  /** History epoch of `topic`'s stream; offsets only compare within one epoch. */
  epoch: string;
  /** Server time the message was accepted, in ms since the Unix epoch. */
  ts: number;
  data: T;
  /**
   * Other streams of this connection the same message went to, with its offset there. The server
   * delivers a message once per connection; this lets the client advance those streams too.
   */
  also?: Record<string, number>;
}

// ---------------------------------------------------------------- client → server

export interface ConnectFrame {
  t: 'connect';
  id: number;
  /** Protocol version, {@link PROTOCOL_VERSION}. */
  v: number;
  app: string;
  token?: string;
  device?: string;
  /** Last positions in this connection's personal streams (`user:<id>`, `device:<id>`), for recovery. */
  streams?: Record<string, StreamPosition>;
}
export interface SubscribeFrame {
  t: 'sub';
  id: number;
  topic: string;
  /** Last position seen; the server replays what came after it. */
  since?: StreamPosition;
}
/**
 * Many subscriptions in one frame (a resubscribe after a reconnect costs one frame of the rate
 * limit). Only sent to a server whose `connect` result has `batch`, with at most that many entries.
 */
export interface SubscribeManyFrame {
  t: 'subs';
  id: number;
  subs: Array<{ topic: string; since?: StreamPosition }>;
}

/** `result` of the reply to `subs`: per topic, its {@link SubscribeResult} or why it was refused. */
export interface SubscribeManyResult {
  results: Record<string, SubscribeResult>;
  errors: Record<string, WireError>;
}

export interface UnsubscribeFrame {
  t: 'unsub';
  id: number;
  topic: string;
}
export interface PublishFrame {
  t: 'pub';
  id: number;
  topic: string;
  data: unknown;
  /** Idempotency key: a resend with the same key is applied once and answered with the first result. */
  key: string;
}
export interface RequestFrame {
  t: 'rpc';
  id: number;
  method: string;
  params?: unknown;
}
export interface WatchFrame {
  t: 'watch';
  id: number;
  topic: string;
}
export interface UnwatchFrame {
  t: 'unwatch';
  id: number;
  topic: string;
}
export interface RefreshFrame {
  t: 'refresh';
  id: number;
  token: string;
}
export interface PingFrame {
  t: 'ping';
}
export interface PongFrame {
  t: 'pong';
}

export type ClientFrame =
  | ConnectFrame
  | SubscribeFrame
  | SubscribeManyFrame
  | UnsubscribeFrame
  | PublishFrame
  | RequestFrame
  | WatchFrame
  | UnwatchFrame
  | RefreshFrame
  | PingFrame
  | PongFrame;

// ---------------------------------------------------------------- server → client

/** `result` of the reply to `connect`. */
export interface ConnectResult {
  /** Connection id, for logs. */
  client: string;
  /** User id from the token's `sub` claim, or `null` when anonymous. */
  user: string | null;
  /** Device id accepted for this connection, or `null`. */
  device: string | null;
  /** Interval at which the server sends `ping`, in ms. The client allows this plus its timeout. */
  ping: number;
  /** Largest frame the server accepts, in bytes. */
  maxFrame: number;
  /** Recovery of the personal streams, keyed by stream, as in {@link SubscribeResult}. */
  streams: Record<string, SubscribeResult>;
  /** The server takes `subs` frames with at most this many entries. Absent: one `sub` per topic. */
  batch?: number;
}

/** `result` of the reply to `sub`, also used per personal stream in {@link ConnectResult}. */
export interface SubscribeResult {
  epoch: string;
  /** Offset of the newest message in the stream (0 when empty). */
  offset: number;
  /** `true` when every message after `since` was replayed; `false` means a gap (refetch state). */
  recovered: boolean;
  /** Replayed messages, oldest first. */
  pubs: Publication[];
}

/** `result` of the reply to `pub`. */
export interface PublishResult {
  id: string;
  offset: number;
}

/** A failure carried by a reply, an `error` frame or a rejected promise. Codes are in {@link ErrorCode}. */
export interface WireError {
  code: string;
  message: string;
  /** For `rate_limited`: wait at least this long before trying again, in ms. */
  retryAfter?: number;
}

export interface ReplyFrame {
  t: 'reply';
  id: number;
  result?: unknown;
  error?: WireError;
}
export interface MessageFrame extends Publication {
  t: 'msg';
}
export interface CountFrame {
  t: 'count';
  topic: string;
  /** Distinct users subscribed to the topic. */
  users: number;
  /** Connections subscribed to the topic. */
  connections: number;
}
/** Connection-level error that does not close the connection (e.g. a malformed frame was dropped). */
export interface ErrorFrame {
  t: 'error';
  error: WireError;
}
/** Sent just before the server closes the connection, so the client knows whether and when to retry. */
export interface CloseFrame {
  t: 'close';
  code: number;
  reason: string;
  /** `false` means do not reconnect (terminal). */
  reconnect: boolean;
  /** Wait at least this long before reconnecting, in ms. */
  retryAfter?: number;
}
/** Sent when the connection's token has expired; the client has a grace period to send `refresh`. */
export interface ExpiredFrame {
  t: 'expired';
  /** ms left before the server closes with {@link CloseCode.TokenExpired}. */
  grace: number;
}

export type ServerFrame =
  | ReplyFrame
  | MessageFrame
  | CountFrame
  | ErrorFrame
  | CloseFrame
  | ExpiredFrame
  | PingFrame
  | PongFrame;

// ---------------------------------------------------------------- codes

/** Stable error codes carried in {@link WireError.code} and in client errors. See docs/protocol.md. */
export const ErrorCode = {
  BadFrame: 'bad_frame',
  UnknownType: 'unknown_type',
  TooLarge: 'too_large',
  BadRequest: 'bad_request',
  Unauthorized: 'unauthorized',
  TokenExpired: 'token_expired',
  Forbidden: 'forbidden',
  RateLimited: 'rate_limited',
  TooManySubscriptions: 'too_many_subscriptions',
  NotConnected: 'not_connected',
  MethodNotFound: 'method_not_found',
  Internal: 'internal',
  // client-side only
  Timeout: 'timeout',
  OutboxFull: 'outbox_full',
  Closed: 'closed',
  Transport: 'transport',
  /** An application handler (message, event or token function) threw; the error is the `cause`. */
  Handler: 'handler',
  /** A message's payload failed its subscription's `schema`; the issues are the `cause`. */
  InvalidPayload: 'invalid_payload',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes the server uses. 4000–4099 retry, 4100–4199 are terminal. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  TooLarge: 1009,
  /** No `connect` frame within the handshake timeout, or a frame before `connect`. Retry. */
  HandshakeTimeout: 4000,
  /** The token expired and was not refreshed in time. Retry with a fresh token. */
  TokenExpired: 4001,
  /** Too many frames per second. Retry after `retryAfter`. */
  RateLimited: 4002,
  /** No frame from the client within the ping interval plus grace. Retry. */
  Stale: 4003,
  /** Server shutting down or restarting. Retry. */
  Shutdown: 4004,
  /** The client fell too far behind (more than `maxBufferedBytes` queued). Retry; recovery fills the gap. */
  SlowConsumer: 4005,
  /** Token missing, malformed, badly signed or expired at connect. Retry once with a fresh token. */
  Unauthorized: 4100,
  /** App not allowed, or token bound to another app. Terminal. */
  Forbidden: 4101,
  /** Protocol version not supported, or the connect frame is invalid. Terminal. */
  BadConnect: 4102,
} as const;

/** Whether a close code allows a reconnect when the server sent no `close` frame saying otherwise. */
export function isRetryableClose(code: number): boolean {
  return code < 4100 || code >= 4200;
}
