import { afterEach, describe, expect, it, vi } from 'vitest';
import { tick } from './fake-transport';
import { setup } from './setup';

afterEach(() => {
  vi.useRealTimers();
});

describe('subscriptions that retry', () => {
  it('retries a temporary failure (rate_limited) no sooner than retryAfter, without reporting it', async () => {
    const { client, fake, connect, advance, errors } = setup();
    await connect();
    const onError = vi.fn();
    const sub = client.subscribe('t', () => {}, { onError });
    const first = fake.link.last('sub');
    fake.link.fail(first.id, 'rate_limited', 'too many frames', { retryAfter: 2000 });
    await tick();
    await advance(1900);
    expect(fake.link.frames('sub')).toHaveLength(1);
    await advance(2000);
    expect(fake.link.frames('sub')).toHaveLength(2);
    fake.link.subscribed('t');
    await tick();
    expect(sub.recovered).toBe(true);
    expect(onError).not.toHaveBeenCalled();
    expect(errors()).toEqual([]);
  });

  it('retries timeout and internal with growing jittered backoff; a permanent error (forbidden) ends the subscription once', async () => {
    const { client, fake, connect, advance, errors } = setup({ reconnect: { floor: 100, ceiling: 1000 } });
    await connect();
    const onError = vi.fn();
    client.subscribe('t', () => {}, { onError });
    fake.link.fail(fake.link.last('sub').id, 'internal', 'service unavailable, retry later');
    await tick();
    await advance(1000);
    expect(fake.link.frames('sub')).toHaveLength(2);
    fake.link.fail(fake.link.last('sub').id, 'timeout');
    await tick();
    await advance(1000);
    expect(fake.link.frames('sub')).toHaveLength(3);
    fake.link.fail(fake.link.last('sub').id, 'forbidden');
    await tick();
    await advance(5000);
    expect(fake.link.frames('sub')).toHaveLength(3);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(errors()).toEqual(['forbidden']);
  });

  it('does not retry a topic unsubscribed meanwhile, nor on a link that ended', async () => {
    const { client, fake, connect, advance } = setup({ reconnect: { floor: 100, ceiling: 200 } });
    await connect();
    const sub = client.subscribe('t', () => {});
    fake.link.fail(fake.link.last('sub').id, 'rate_limited', 'x', { retryAfter: 100 });
    await tick();
    sub.unsubscribe();
    await advance(1000);
    expect(fake.link.frames('sub')).toHaveLength(1);
  });

  it('resubscribes after a reconnect in subs frames of at most the server\'s batch, each topic answered on its own', async () => {
    const { client, fake, connect, advance } = setup({ reconnect: { floor: 100, ceiling: 200 } });
    await connect({ batch: 2 });
    for (const t of ['a', 'b', 'c']) client.subscribe(t, () => {});
    for (const t of ['a', 'b', 'c']) fake.link.subscribed(t, { epoch: 'e1', offset: 5 });
    await tick();
    const first = fake.link;
    first.end(1006);
    await advance(500);
    expect(fake.link).not.toBe(first);
    await connect({ batch: 2 });
    const batches = fake.link.frames('subs');
    expect(batches.map((f) => (f.subs as Array<{ topic: string }>).map((s) => s.topic))).toEqual([['a', 'b'], ['c']]);
    expect(batches[0]!.subs).toEqual([
      { topic: 'a', since: { epoch: 'e1', offset: 5 } },
      { topic: 'b', since: { epoch: 'e1', offset: 5 } },
    ]);
    expect(fake.link.frames('sub')).toHaveLength(0);
    const subscribed: string[] = [];
    client.on('subscribed', (s) => subscribed.push(s.topic));
    // 'a' recovered, 'b' refused for now (retried alone), '__proto__'-safe lookups for the rest.
    fake.link.reply(batches[0]!.id, {
      results: { a: { epoch: 'e1', offset: 5, recovered: true, pubs: [] } },
      errors: { b: { code: 'rate_limited', message: 'x', retryAfter: 100 } },
    });
    fake.link.reply(batches[1]!.id, { results: { c: { epoch: 'e1', offset: 5, recovered: true, pubs: [] } }, errors: {} });
    await tick();
    expect(subscribed).toEqual(['a', 'c']);
    await advance(500);
    expect(fake.link.frames('sub').map((f) => f.topic)).toEqual(['b']);
  });
});

describe('subscription state', () => {
  it('is subscribing until confirmed, through retries and reconnects, and unsubscribed once refused or left', async () => {
    const { client, fake, connect, advance } = setup({ reconnect: { floor: 100, ceiling: 100 } });
    await connect();
    const sub = client.subscribe('t', () => {});
    const other = client.subscribe('t', () => {});
    expect(sub.state).toBe('subscribing');
    fake.link.fail(fake.link.last('sub').id, 'rate_limited', 'slow down', { retryAfter: 500 });
    await tick();
    expect(sub.state).toBe('subscribing'); // a temporary failure: retried, not final
    await advance(600);
    fake.link.subscribed('t');
    await tick();
    expect([sub.state, other.state]).toEqual(['subscribed', 'subscribed']);
    fake.link.end(1006, 'gone');
    await tick();
    expect(sub.state).toBe('subscribing');
    await advance(200);
    await connect();
    fake.link.subscribed('t');
    await tick();
    expect(sub.state).toBe('subscribed');
    other.unsubscribe();
    expect([sub.state, other.state]).toEqual(['subscribed', 'unsubscribed']);
    const refused = client.subscribe('secret', () => {});
    fake.link.fail(fake.link.last('sub').id, 'forbidden');
    await tick();
    expect(refused.state).toBe('unsubscribed');
  });
});
