import type { StreamPosition, SubscribeResult } from 'sdk-realtime/protocol';
import type { HistoryLimits } from '../history';
import type { OnlineCount } from '../presence';

export type { OnlineCount };

/** Where a delivered message sits in one stream. */
export interface StreamOffset {
  stream: string;
  epoch: string;
  offset: number;
}

/** A message as the broker fans it out: one id, one position per stream it was appended to. */
export interface Delivery {
  id: string;
  ts: number;
  data: unknown;
  /** Positions in the order the streams were given to {@link Broker.publish}. */
  streams: StreamOffset[];
}

/** Something subscribed to streams, typically one WebSocket connection. */
export interface Subscriber {
  /**
   * Receive a message once. `matched` lists this subscriber's streams the message went to, in
   * publish order (never empty); the first one is the stream the message is delivered on.
   */
  deliver(delivery: Delivery, matched: StreamOffset[]): void;
}

/** Result of {@link Broker.publish}. */
export interface PublishOutcome {
  id: string;
  ts: number;
  /** Offset of the message in each stream. */
  streams: Record<string, number>;
  /** Epoch and offset of the message in each stream, in the order the streams were given. */
  positions: StreamOffset[];
  /**
   * Subscribers (connections) that received it, where the broker delivers in the publish call
   * (the memory broker). A broker that fans out through another system (Redis pub/sub, to every
   * node) leaves it out: delivery happens after `publish` resolves.
   */
  delivered?: number;
}

/** How long an idempotency key is remembered, in ms (5 minutes): a retry within it is applied once. */
export const IDEMPOTENCY_TTL = 5 * 60_000;

/** Options of one {@link Broker.publish}. */
export interface PublishOptions {
  /**
   * Apply at most once per app and key within {@link IDEMPOTENCY_TTL}, on every node: a repeat
   * resolves with the first outcome (same id and positions) and delivers nothing again.
   */
  key?: string;
  /** Digest of the request the key stands for: a repeat with another digest is an {@link IdempotencyConflictError}. */
  fingerprint?: string;
}

/** An idempotency key reused for a different request (`/notify` answers 409). */
export class IdempotencyConflictError extends Error {
  readonly code = 'conflict';
  constructor(message = 'idempotency key already used for a different request') {
    super(message);
    this.name = 'IdempotencyConflictError';
  }
}

/**
 * The broker cannot reach its backing store (Redis down, failing over). Retryable: `/notify`
 * answers 503 with `Retry-After`, a subscribe fails with a temporary error the client retries.
 */
export class BrokerUnavailableError extends Error {
  readonly code = 'unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrokerUnavailableError';
  }
}

/**
 * Stores stream history and fans messages out to subscribers. Everything is keyed by app id, so two
 * apps never share a stream. Two implementations: {@link MemoryBroker} (embedded, one process) and
 * `RedisBroker` (several processes acting as one); both pass test/server/broker-conformance.test.ts.
 *
 * Order of a subscribe with recovery: `await subscribe()` (live from here on), then `history()`;
 * the caller holds live messages until the history reply is sent and drops those it covered.
 */
export interface Broker {
  /**
   * Append one message to each stream (once per stream; duplicates in `streams` are ignored) and
   * deliver it once per subscriber, whichever of its streams match. Rejects with
   * {@link BrokerUnavailableError} when the store is unreachable (nothing was delivered then, or
   * the caller may retry: with a `key`, a retry is applied once).
   */
  publish(app: string, streams: string[], data: unknown, options?: PublishOptions): Promise<PublishOutcome>;
  /** Start delivering `stream`'s live messages to `subscriber`; live once it resolves. Idempotent. */
  subscribe(app: string, stream: string, subscriber: Subscriber): Promise<void>;
  /** Stop delivering. Idempotent. */
  unsubscribe(app: string, stream: string, subscriber: Subscriber): void;
  /**
   * The stream's epoch and newest offset and, given the client's position `since`, recovery
   * (docs/protocol.md): `recovered: true` with every message after `since` when the epoch matches
   * and the range up to the top is complete and at most `maxReplay` long; otherwise
   * `recovered: false` and no messages (never a partial replay).
   */
  history(app: string, stream: string, since?: StreamPosition): Promise<SubscribeResult>;
  /** Release timers and connections. */
  close(): Promise<void>;
  /**
   * Online counts shared by every node. Absent (the memory broker): each server counts its own
   * connections, which is the whole truth for a single process.
   */
  readonly presence?: ClusterPresence;
  /**
   * A rate limit shared by every node (the `/notify` limit per app): ms until `name` of `app` may
   * go again, 0 when it may go now (and it is counted). Absent: each node limits on its own.
   */
  rateLimit?(app: string, name: string, limit: { requests: number; per: number }): Promise<number>;
  /** For `/healthz`: whether the backing store is reachable, and details. Absent: always healthy. */
  health?(): { ok: boolean; [detail: string]: unknown };
  /** For `/metrics`: extra counters (name → value), already prefixed `sdk_realtime_`. */
  metrics?(): Record<string, number>;
}

/** What the server gives a broker it creates (see {@link BrokerFactory}). */
export interface BrokerEnvironment {
  history: HistoryLimits;
  logger: { error(message: string, error?: unknown): void };
}

/** A broker the server creates itself, with its own history limits and logger. */
export type BrokerFactory = (env: BrokerEnvironment) => Broker;

/** Connections and distinct users per topic across every node (see {@link Broker.presence}). */
export interface ClusterPresence {
  /** `connection` is online in `topic` (idempotent); `user` null for an anonymous connection. */
  join(app: string, topic: string, connection: string, user: string | null): void;
  leave(app: string, topic: string, connection: string): void;
  /** The topic's count across nodes; rejects while the store is unreachable. */
  count(app: string, topic: string): Promise<OnlineCount>;
  /** Remove this node's members and stop refreshing them. */
  close(): Promise<void>;
}
