import { utf8Length } from 'sdk-realtime/protocol';
import type { Broker, PublishOptions } from './brokers/types';
import type { Metrics } from './metrics';

/** Who a message goes to: the union of every listed user, device and topic subscriber. */
export interface PublishTarget {
  users?: string[];
  devices?: string[];
  eventTopics?: string[];
  data: unknown;
}

/** What a publish did: the message id, its offset in each stream, and how many connections got it. */
export interface PublishReceipt {
  id: string;
  /** Connections that received it, when the broker delivers in the publish call (memory broker). */
  delivered?: number;
  streams: Record<string, number>;
}

/** The streams a target names, in delivery-priority order: topics, then users, then devices. */
export function streamsOf(target: PublishTarget): string[] {
  const streams = [
    ...(target.eventTopics ?? []),
    ...(target.users ?? []).map((u) => `user:${u}`),
    ...(target.devices ?? []).map((d) => `device:${d}`),
  ];
  return [...new Set(streams)];
}

/** Room left in a frame for the `msg` envelope around `data` (topic, id, offsets, `also`). */
const ENVELOPE_BYTES = 8 * 1024;

/** A message whose `data` would not fit in a frame clients accept. */
export class PayloadTooLargeError extends RangeError {
  readonly code = 'too_large';
}

/** The one publish path shared by `POST /notify`, `server.publish()` and client `pub` frames. */
export async function publishTo(
  broker: Broker,
  metrics: Metrics,
  app: string,
  target: PublishTarget,
  maxFrameBytes: number,
  options?: PublishOptions,
): Promise<PublishReceipt> {
  const streams = streamsOf(target);
  if (streams.length === 0) throw new TypeError('publish needs at least one of users, devices, eventTopics');
  const json = JSON.stringify(target.data);
  if (json === undefined) throw new TypeError('publish needs JSON `data`');
  const limit = Math.max(maxFrameBytes - ENVELOPE_BYTES, maxFrameBytes / 2);
  if (json.length > limit / 3 && utf8Length(json) > limit) {
    throw new PayloadTooLargeError(`data exceeds ${limit} bytes (the frame limit minus the message envelope)`);
  }
  const outcome = await broker.publish(app, streams, target.data, options);
  metrics.messagesPublished++;
  return { id: outcome.id, delivered: outcome.delivered, streams: outcome.streams };
}
