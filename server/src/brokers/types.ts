import type { StreamPosition, SubscribeResult } from 'sdk-realtime/protocol';

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
  /** Number of subscribers (connections) on this node that received it. */
  delivered: number;
}

/**
 * Stores stream history and fans messages out to subscribers. Everything is keyed by app id, so two
 * apps never share a stream. The in-memory broker is the embedded default; a Redis broker
 * (pub/sub fan-out, streams for history) can implement the same interface to span several nodes.
 */
export interface Broker {
  /** Append one message to each stream (once per stream) and deliver it once per subscriber. */
  publish(app: string, streams: string[], data: unknown): Promise<PublishOutcome>;
  /** Start delivering `stream`'s live messages to `subscriber`. Idempotent. */
  subscribe(app: string, stream: string, subscriber: Subscriber): void;
  /** Stop delivering. Idempotent. */
  unsubscribe(app: string, stream: string, subscriber: Subscriber): void;
  /** The stream's epoch, newest offset, and what followed `since` (see docs/protocol.md, recovery). */
  history(app: string, stream: string, since?: StreamPosition): Promise<SubscribeResult>;
  /** Release timers and connections. */
  close(): Promise<void>;
}
