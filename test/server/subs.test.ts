import { afterEach, describe, expect, it } from 'vitest';
import { Raw, cleanup, startServer } from './helpers';
import { notify } from '../support/harness';

afterEach(cleanup);

describe('subs: many subscriptions in one frame', () => {
  it('is offered in the connect result, and answers each topic with its result or its error', async () => {
    const server = await startServer({ maxSubscriptions: 4, canSubscribe: (_ctx, topic) => !topic.startsWith('secret') });
    const { raw, reply } = await Raw.connected(server, 'u1');
    expect(reply.result.batch).toBe(4);
    await notify(server, { appId: 'shop', eventTopics: ['__proto__'], data: 1 });
    const epoch = (await raw.request({ t: 'sub', topic: 'x' })).result.epoch;
    await raw.request({ t: 'sub', topic: 'y' });
    await raw.request({ t: 'sub', topic: 'z' });
    const r = await raw.request({
      t: 'subs',
      subs: [{ topic: '__proto__', since: { epoch: 'gone', offset: 0 } }, { topic: 'secret:1' }, { topic: 'x', since: { epoch, offset: 0 } }, { topic: 'b' }],
    });
    expect(Object.keys(r.result.results).sort()).toEqual(['__proto__', 'x']);
    expect(r.result.results.__proto__).toMatchObject({ offset: 1, recovered: false, pubs: [] });
    expect(r.result.results.x).toMatchObject({ epoch, recovered: true });
    expect(r.result.errors['secret:1']).toMatchObject({ code: 'forbidden' });
    // x was held already; __proto__ is the fourth (the limit), so b is one too many.
    expect(r.result.errors.b).toMatchObject({ code: 'too_many_subscriptions' });
    expect(server.stats().subscriptions).toBe(4);
    await notify(server, { appId: 'shop', eventTopics: ['__proto__'], data: 'p' });
    expect((await raw.next((f) => f.t === 'msg' && f.topic === '__proto__')).data).toBe('p');
  });

  it('refuses more entries than maxSubscriptions, malformed entries and over-long names with bad_request', async () => {
    const server = await startServer({ maxSubscriptions: 2 });
    const { raw } = await Raw.connected(server, 'u1');
    expect((await raw.request({ t: 'subs', subs: [{ topic: 'a' }, { topic: 'b' }, { topic: 'c' }] })).error).toMatchObject({ code: 'bad_request' });
    // Malformed frames are answered with an `error` frame (a frame that does not decode has no reply).
    raw.send({ t: 'subs', id: 8, subs: [] });
    expect((await raw.next((f) => f.t === 'error')).error).toMatchObject({ code: 'bad_frame' });
    raw.send({ t: 'subs', id: 9, subs: [{ topic: 7 }] });
    expect((await raw.next((f) => f.t === 'error' && f.error.message.includes('subs'), 3000, raw.frames.length - 1)).error).toMatchObject({ code: 'bad_frame' });
    expect((await raw.request({ t: 'subs', subs: [{ topic: 'x'.repeat(257) }] })).error).toMatchObject({ code: 'bad_request' });
    expect(server.stats().subscriptions).toBe(0);
  });

  it('costs one frame of the rate limit however many topics it carries', async () => {
    const server = await startServer({ rateLimit: { frames: 5, per: 60_000 } });
    const { raw } = await Raw.connected(server, 'u1');
    const r = await raw.request({ t: 'subs', subs: Array.from({ length: 50 }, (_, i) => ({ topic: `t${i}` })) });
    expect(Object.keys(r.result.results)).toHaveLength(50);
    expect(server.stats().subscriptions).toBe(50);
  });
});
