import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, notify } from '../support/harness';
import { ask, connected, inbox, isMarker, legacy, startBridge, until } from './helpers';

afterEach(cleanup);

describe('socket.io bridge: input and limits', () => {
  it('answers malformed subscribe input with bad_request, naming the problem', async () => {
    const server = await startBridge({ maxSubscriptions: 5 });
    const s = legacy(server, 'shop', 'u');
    await connected(s);
    for (const [input, message] of [
      [42, /expected a topic or an array of topics/],
      [{ topic: 'x' }, /expected a topic or an array/],
      [['ok', 7], /topics\[1\] must be a non-empty string/],
      [[''], /topics\[0\] must be a non-empty string/],
      ['x'.repeat(257), /topic must be a non-empty string of at most 256/],
      [Array.from({ length: 6 }, (_, i) => `t${i}`), /at most 5 topics per event/],
    ] as const) {
      const answer = await ask(s, 'subscribe', input);
      expect(answer).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(answer.error.message).toMatch(message);
    }
    const answer = await ask(s, 'subscribeCount', null);
    expect(answer).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('without an ack callback, a refusal arrives as an error event', async () => {
    const server = await startBridge();
    const s = legacy(server, 'shop', 'u');
    await connected(s);
    const errors = inbox(s, 'error');
    s.emit('subscribe', 12);
    s.emit('subscribe', ['user:someone-else']);
    await until(() => errors.length === 2, 'two error events');
    expect(errors[0]).toMatchObject({ event: 'subscribe', code: 'bad_request' });
    expect(errors[1]).toMatchObject({ event: 'subscribe', topic: 'user:someone-else', code: 'forbidden' });
  });

  it('holds at most maxSubscriptions topics per socket: the rest are refused per topic', async () => {
    const server = await startBridge({ maxSubscriptions: 3 });
    const s = legacy(server, 'shop', 'u');
    await connected(s);
    const first = await ask(s, 'subscribe', ['a', 'b']);
    expect(first.ok).toBe(true);
    const second = await ask(s, 'subscribe', ['b', 'c', 'd']);
    expect(second.results).toEqual({
      b: { ok: true },
      c: { ok: true },
      d: { ok: false, error: { code: 'too_many_subscriptions', message: 'at most 3 subscriptions' } },
    });
    expect(server.stats().subscriptions).toBe(3);
  });

  it('a disconnect releases every subscription, watch and online count', async () => {
    const server = await startBridge({ presenceInterval: 10 });
    const watcher = legacy(server, 'shop', 'w');
    await connected(watcher);
    const counts = inbox(watcher);
    await ask(watcher, 'subscribeCount', ['room']);
    const s = legacy(server, 'shop', 'u', 'd');
    await connected(s);
    await ask(s, 'subscribe', ['room', 'other']);
    await ask(s, 'subscribeCount', ['room', 'other']);
    await until(() => (counts.at(-1) as { count?: number })?.count === 1, 'count 1');
    expect(server.stats()).toEqual({ connections: 2, subscriptions: 2, watches: 3 });
    s.close();
    await until(() => server.stats().connections === 1, 'the socket gone');
    expect(server.stats()).toEqual({ connections: 1, subscriptions: 0, watches: 1 });
    await until(() => (counts.at(-1) as { count?: number })?.count === 0, 'count back to 0');
  });

  it('applies the canSubscribe hook like native connections', async () => {
    const server = await startBridge({ canSubscribe: (ctx, topic) => !topic.startsWith('admin:') || ctx.user === 'root' });
    const s = legacy(server, 'shop', 'u');
    await connected(s);
    const answer = await ask(s, 'subscribe', ['admin:alerts', 'news']);
    expect(answer.results['admin:alerts']).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(answer.results.news).toEqual({ ok: true });
    const watch = await ask(s, 'subscribeCount', ['admin:alerts']);
    expect(watch.results['admin:alerts']).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('survives hostile input: reserved event names as topics, junk events, a throwing hook, floods; and still delivers', async () => {
    const server = await startBridge({
      rateLimit: { frames: 50, per: 1000 },
      canSubscribe: (_ctx, topic) => {
        if (topic === 'boom') throw new Error('hook exploded');
        return true;
      },
    });
    const s = legacy(server, 'shop', 'u');
    await connected(s);
    const got = inbox(s);
    const answer = await ask(s, 'subscribe', ['disconnect', 'connect', '__proto__', 'boom', 'marker']);
    expect(answer.results.boom).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(answer.results.disconnect).toEqual({ ok: true });
    s.emit('dataUpdate', { forged: true });
    s.emit('unknown-event', 1, 2, 3);
    s.emit('subscribe');
    s.emit('unsubscribe', [[['deep']]]);
    await notify(server, { appId: 'shop', eventTopics: ['disconnect', 'connect', '__proto__'], data: { reserved: true } });
    await notify(server, { appId: 'shop', eventTopics: ['marker'], data: { marker: 'end' } });
    await until(() => got.some(isMarker('end')), 'marker');
    expect(got).toEqual([{ reserved: true }, { marker: 'end' }]);

    // A flood over the event rate: refused with rate_limited, the server stays up.
    const answers = await Promise.all(Array.from({ length: 60 }, () => ask(s, 'subscribe', ['flood']).catch(() => undefined)));
    expect(answers.some((a) => a?.error?.code === 'rate_limited')).toBe(true);
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});
