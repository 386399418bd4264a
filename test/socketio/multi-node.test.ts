import { afterEach, describe, expect, it } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import { cleanup, client, notify, onCleanup, signToken, waitForState } from '../support/harness';
import { startNode, type ServerNode } from '../support/nodes';
import { redisForFile } from '../support/redis';
import { ask, connectTo, connected, inbox, isMarker, until } from './helpers';

// Two real server processes (the built CLI with --redis --socket-io) on one real redis-server. No
// socket.io Redis adapter: the broker is the fan-out, for socket.io and native clients alike.
const redis = redisForFile();
afterEach(cleanup);

async function nodes(n: number, args: string[] = []): Promise<ServerNode[]> {
  const started = await Promise.all(Array.from({ length: n }, () => startNode(redis().url, ['--socket-io', ...args])));
  for (const node of started) onCleanup(() => node.kill());
  return started;
}

describe('socket.io bridge on two nodes sharing Redis', () => {
  it('a /notify posted to one node reaches socket.io and native clients on the other, once each, apps apart', async () => {
    const [a, b] = await nodes(2);
    expect(a!.output()).toMatch(/socket\.io: http:\/\/127\.0\.0\.1:\d+\/<appId>/);
    const s = connectTo(a!, 'shop', { auth: { token: await signToken('u1', { device: 'phone-1' }) } });
    const otherApp = connectTo(a!, 'other', { auth: { token: await signToken('u1', { device: 'phone-1' }) } });
    await Promise.all([connected(s), connected(otherApp)]);
    const got = inbox(s);
    const gotOther = inbox(otherApp);
    expect((await ask(s, 'subscribe', ['order:1'])).ok).toBe(true);
    expect((await ask(otherApp, 'subscribe', ['order:1'])).ok).toBe(true);

    const native = client({ url: b!.url, app: 'shop', token: await signToken('u2') });
    const nativeGot: Publication[] = [];
    native.subscribe('order:1', (m) => nativeGot.push(m));
    const nativeSubscribed = new Promise((r) => native.on('subscribed', r));
    native.connect();
    await waitForState(native, 'connected');
    await nativeSubscribed;

    const res = await notify(b!, { appId: 'shop', users: ['u1'], devices: ['phone-1'], eventTopics: ['order:1'], data: { n: 1 } });
    expect(res.status).toBe(200);
    await notify(b!, { appId: 'other', eventTopics: ['order:1'], data: { marker: 'other' } });
    await notify(a!, { appId: 'shop', eventTopics: ['order:1'], data: { marker: 'end' } });
    await until(() => got.some(isMarker('end')) && gotOther.some(isMarker('other')) && nativeGot.length === 2, 'markers on every client');
    expect(got).toEqual([{ n: 1 }, { marker: 'end' }]);
    expect(gotOther).toEqual([{ marker: 'other' }]);
    expect(nativeGot.map((m) => m.data)).toEqual([{ n: 1 }, { marker: 'end' }]);
  });

  it('personal streams are live once the client hears connect: a /notify right after it, via the other node, arrives', async () => {
    const [a, b] = await nodes(2);
    for (let i = 0; i < 5; i++) {
      const s = connectTo(a!, 'shop', { auth: { token: await signToken(`fast-${i}`) } });
      const got = inbox(s);
      await connected(s);
      await notify(b!, { appId: 'shop', users: [`fast-${i}`], data: { i } });
      await until(() => got.length === 1, `message ${i}`);
      expect(got).toEqual([{ i }]);
    }
  });

  it('online counts add up the users of both nodes', async () => {
    const [a, b] = await nodes(2);
    const watcher = connectTo(a!, 'live', { auth: { token: await signToken('host') } });
    await connected(watcher);
    const got = inbox(watcher);
    await ask(watcher, 'subscribeCount', ['room:1']);
    for (const [i, node] of [a, b, b].entries()) {
      const s = connectTo(node!, 'live', { auth: { token: await signToken(`viewer-${i}`) } });
      await connected(s);
      expect((await ask(s, 'subscribe', ['room:1'])).ok).toBe(true);
    }
    await until(() => (got.at(-1) as { count?: number } | undefined)?.count === 3, 'count 3 across nodes', 10_000);
  }, 20_000);
});
