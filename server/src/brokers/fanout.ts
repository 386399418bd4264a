import type { Delivery, StreamOffset, Subscriber } from './types';

/**
 * Hand one message to every subscriber of the streams it went to, once per subscriber, with the
 * streams of that subscriber it matched in publish order. Shared by every broker so "once per
 * connection, even when several targets match" holds the same way everywhere.
 * Returns the number of subscribers reached.
 */
export function fanOut(
  delivery: Delivery,
  subscribersOf: (stream: string) => ReadonlySet<Subscriber> | undefined,
  onError: ((error: unknown) => void) | undefined,
  positions: readonly StreamOffset[] = delivery.streams,
): number {
  // The common case, one stream: no grouping map.
  if (positions.length === 1) {
    const only = positions[0]!;
    const subs = subscribersOf(only.stream);
    if (!subs) return 0;
    for (const sub of subs) tryDeliver(sub, delivery, [only], onError);
    return subs.size;
  }
  const perSubscriber = new Map<Subscriber, StreamOffset[]>();
  for (const position of positions) {
    const subs = subscribersOf(position.stream);
    if (!subs) continue;
    for (const sub of subs) {
      const matched = perSubscriber.get(sub);
      if (matched) matched.push(position);
      else perSubscriber.set(sub, [position]);
    }
  }
  for (const [sub, matched] of perSubscriber) tryDeliver(sub, delivery, matched, onError);
  return perSubscriber.size;
}

function tryDeliver(sub: Subscriber, delivery: Delivery, matched: StreamOffset[], onError: ((error: unknown) => void) | undefined): void {
  try {
    sub.deliver(delivery, matched);
  } catch (error) {
    onError?.(error);
  }
}
