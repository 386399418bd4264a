import { afterEach, describe, expect, it } from 'vitest';
import { startProxy } from '../support/proxy';
import { cleanup, client, onCleanup, signToken, startServer, waitFor, waitForState } from '../support/harness';

afterEach(cleanup);

describe('resubscribing after reconnects, with server defaults', () => {
  it('keeps 500 subscriptions through 20 reconnects: each resubscribe is one subs frame, none is lost', async () => {
    // Server defaults: 100 frames/s per connection, at most 1000 subscriptions.
    const server = await startServer();
    const proxy = await startProxy(server.port);
    onCleanup(() => proxy.close());
    const c = client({ url: proxy.url(), app: 'shop', token: await signToken('u1') });
    const topics = Array.from({ length: 500 }, (_, i) => `room:${i}`);
    const got = new Map<string, unknown[]>();
    let subscribed = 0;
    for (const t of topics) {
      got.set(t, []);
      c.subscribe(t, (m) => got.get(t)!.push(m.data), { onSubscribed: () => subscribed++ });
    }
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.code));
    c.connect();
    await waitFor(() => subscribed === 500, 'the first 500 subscriptions', 10_000);
    for (let round = 1; round <= 20; round++) {
      proxy.drop();
      await waitFor(() => c.state !== 'connected', `drop ${round} noticed`);
      await waitForState(c, 'connected', 10_000);
      await waitFor(() => subscribed === 500 * (round + 1), `resubscribed after reconnect ${round} (${subscribed})`, 10_000);
    }
    expect(server.stats().subscriptions).toBe(500);
    for (const [i, t] of topics.entries()) await server.publish('shop', { eventTopics: [t], data: i });
    await waitFor(() => topics.every((t) => got.get(t)!.length === 1), 'a message on every topic', 10_000);
    expect(errors).toEqual([]);
  }, 60_000);
});
