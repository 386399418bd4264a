import type { Broker } from './brokers/types';
import type { Metrics } from './metrics';

/** Who a message goes to: the union of every listed user, device and topic subscriber. */
export interface PublishTarget {
  users?: string[];
  devices?: string[];
  eventTopics?: string[];
  data: unknown;
}

/** What a publish did: the message id, how many connections got it, its offset in each stream. */
export interface PublishReceipt {
  id: string;
  delivered: number;
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

/** The one publish path shared by `POST /notify`, `server.publish()` and client `pub` frames. */
export async function publishTo(
  broker: Broker,
  metrics: Metrics,
  app: string,
  target: PublishTarget,
): Promise<PublishReceipt> {
  const streams = streamsOf(target);
  if (streams.length === 0) throw new TypeError('publish needs at least one of users, devices, eventTopics');
  const outcome = await broker.publish(app, streams, target.data);
  metrics.messagesPublished++;
  return { id: outcome.id, delivered: outcome.delivered, streams: outcome.streams };
}
