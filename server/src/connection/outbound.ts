import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { ErrorCode, encodeFrame, type ServerFrame, type WireError } from 'sdk-realtime/protocol';
import type { Delivery, StreamOffset } from '../brokers/types';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { wireError } from './refusal';
import { textFrame, writeFrame } from './wire';

/** Framed `msg` bytes per delivery and stream, kept only as long as the delivery object lives. */
const framedDeliveries = new WeakMap<Delivery, Map<string, Buffer>>();

/**
 * Everything a connection writes: frames encoded and framed once (a broadcast's `msg` once per
 * stream for every subscriber), counted, and cut off when the peer stops reading.
 */
export class Outbound {
  constructor(
    private readonly ws: WebSocket,
    /** The upgraded socket under `ws`: frames are written to it directly (see ./wire). */
    private readonly socket: Duplex,
    private readonly id: string,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Above this many buffered bytes the peer is a slow consumer. */
    private readonly maxBuffered: number,
    /** Called once the peer is cut for not reading (close 4005). */
    private readonly onSlowConsumer: () => void,
  ) {}

  /** A `msg` for `matched` (never empty): the first stream carries it, the others go in `also`. */
  message(delivery: Delivery, matched: StreamOffset[]): void {
    const first = matched[0];
    if (!first) return;
    this.metrics.messagesDelivered++;
    // One stream (a broadcast): the framed bytes are shared by every subscriber of that stream.
    // Runs once per recipient, so no array is made here.
    const single = matched.length === 1;
    let cache: Map<string, Buffer> | undefined;
    if (single) {
      cache = framedDeliveries.get(delivery);
      const framed = cache?.get(first.stream);
      if (framed !== undefined) return this.write(framed);
    }
    const frame: ServerFrame = {
      t: 'msg',
      topic: first.stream,
      id: delivery.id,
      offset: first.offset,
      epoch: first.epoch,
      ts: delivery.ts,
      data: delivery.data,
    };
    if (!single) frame.also = Object.fromEntries(matched.slice(1).map((m) => [m.stream, m.offset]));
    const framed = textFrame(encodeFrame(frame));
    if (single) {
      if (!cache) framedDeliveries.set(delivery, (cache = new Map()));
      cache.set(first.stream, framed);
    }
    this.write(framed);
  }

  reply(id: number, result: unknown): void {
    let text: string;
    try {
      text = encodeFrame({ t: 'reply', id, result });
    } catch (e) {
      // e.g. an RPC method returned a BigInt or a cycle
      this.logger.error(`connection ${this.id}: reply ${id} is not serializable`, e);
      this.replyError(id, wireError(ErrorCode.Internal, 'result is not serializable'));
      return;
    }
    this.write(textFrame(text));
  }

  replyError(id: number, error: WireError): void {
    this.metrics.error(error.code);
    this.frame({ t: 'reply', id, error });
  }

  error(error: WireError): void {
    this.metrics.error(error.code);
    this.frame({ t: 'error', error });
  }

  /** A reply error when the frame had an id, else an `error` frame. */
  answerError(id: number | undefined, error: WireError): void {
    if (id !== undefined) this.replyError(id, error);
    else this.error(error);
  }

  frame(frame: ServerFrame): void {
    this.write(textFrame(encodeFrame(frame)));
  }

  private write(framed: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // A consumer that stopped reading must not hold unbounded server memory: cut it loose; it
    // recovers what it missed from history when it reconnects.
    if (this.socket.writableLength > this.maxBuffered) {
      this.metrics.error('slow_consumer');
      this.onSlowConsumer();
      return;
    }
    try {
      writeFrame(this.socket, framed);
      this.metrics.framesOut++;
    } catch (e) {
      this.logger.warn(`connection ${this.id}: send failed`, e);
    }
  }
}
