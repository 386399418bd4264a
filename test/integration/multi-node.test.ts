import { afterEach, describe, expect, it } from 'vitest';
import { redisBroker } from '../../server/src/index';
import { cleanup, client, notify, onCleanup, signToken, startServer, waitFor, waitForState } from '../support/harness';
import { startBalancer, startNode, type ServerNode } from '../support/nodes';
import { startProxy } from '../support/proxy';
import { redisForFile, startRedis } from '../support/redis';

// Several real server processes (the built CLI with --redis) on one real redis-server, behind a
// round-robin TCP balancer, driven by the real client.
const redis = redisForFile();
afterEach(cleanup);

async function nodes(n: number, args: string[] = []): Promise<ServerNode[]> {
  const started = await Promise.all(Array.from({ length: n }, () => startNode(redis().url, args)));
  for (const node of started) onCleanup(() => node.kill());
  return started;
}

describe('several server processes on Redis act as one', () => {
  it('delivers a /notify posted to one node to a client on another, once when it names the user and a topic the user follows', async () => {
    const [a, b] = await nodes(2);
    const c = client({ url: a!.url, app: 'shop', token: await signToken('u1') });
    const got: Array<{ topic: string; data: any }> = [];
    c.on('message', (m) => got.push({ topic: m.topic, data: m.data }));
    c.subscribe('order:1', () => undefined);
    const subscribed = new Promise((r) => c.on('subscribed', r));
    c.connect();
    await waitForState(c, 'connected');
    await subscribed;

    expect((await notify(b!, { appId: 'shop', users: ['u1'], eventTopics: ['order:1'], data: { n: 1 } })).status).toBe(200);
    expect((await notify(b!, { appId: 'shop', users: ['u1'], data: { n: 2 } })).status).toBe(200);
    // Another app's same names never arrive.
    expect((await notify(b!, { appId: 'other', users: ['u1'], eventTopics: ['order:1'], data: { n: 'x' } })).status).toBe(200);
    expect((await notify(b!, { appId: 'shop', eventTopics: ['order:1'], data: { n: 3 } })).status).toBe(200);
    await waitFor(() => got.length >= 3, 'three messages');
    expect(got.map((g) => g.data.n)).toEqual([1, 2, 3]);
  });

  it('recovers what was missed while the node a client was on is SIGKILLed: the client reconnects to another node and gets every message once, in order', async () => {
    const [a, b] = await nodes(2);
    const live = [a!, b!];
    const lb = await startBalancer(() => live.map((n) => n.port));
    onCleanup(() => lb.close());
    const c = client({ url: lb.url, app: 'shop', token: await signToken('u2') });
    const room: number[] = [];
    const personal: number[] = [];
    const recovered: boolean[] = [];
    c.on('message', (m) => {
      if (m.topic === 'user:u2') personal.push((m.data as any).n);
    });
    c.subscribe('room', (m) => room.push((m.data as any).n), { onSubscribed: (e) => recovered.push(e.recovered) });
    c.connect();
    await waitFor(() => recovered.length === 1, 'subscribed');

    for (let n = 1; n <= 3; n++) {
      await notify(b!, { appId: 'shop', eventTopics: ['room'], data: { n } });
      await notify(b!, { appId: 'shop', users: ['u2'], data: { n } });
    }
    await waitFor(() => room.length === 3 && personal.length === 3, 'live messages');

    // Crash the node the client is on (the balancer sent the first connection to `a`), keep
    // publishing through the other.
    live.splice(live.indexOf(a!), 1);
    await a!.kill();
    for (let n = 4; n <= 8; n++) {
      await notify(b!, { appId: 'shop', eventTopics: ['room'], data: { n } });
      await notify(b!, { appId: 'shop', users: ['u2'], data: { n } });
    }
    await waitFor(() => room.length === 8 && personal.length === 8, 'recovered messages', 10_000);
    expect(room).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(personal).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(recovered).toEqual([true, true]);
  });

  it('applies a /notify with the same Idempotency-Key once across nodes, and answers another body under that key with 409', async () => {
    const [a, b] = await nodes(2);
    const post = (node: ServerNode, key: string, data: unknown) =>
      fetch(`${node.httpUrl}/notify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer integration-test-api-key', 'idempotency-key': key },
        body: JSON.stringify({ appId: 'shop', eventTopics: ['orders'], data }),
      });
    const first = await post(a!, 'order-7-paid', { id: 7 });
    const retry = await post(b!, 'order-7-paid', { id: 7 });
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    const [r1, r2] = [await first.json(), await retry.json()];
    expect(r2.id).toBe(r1.id);
    expect(r2.streams).toEqual({ orders: 1 });
    const conflict = await post(b!, 'order-7-paid', { id: 8 });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ error: { code: 'conflict', field: 'Idempotency-Key' } });
    expect((await post(a!, 'x'.repeat(129), {})).status).toBe(400);
    // Applied once: the next message is offset 2.
    expect((await notify(a!, { appId: 'shop', eventTopics: ['orders'], data: 'next' })).body.streams).toEqual({ orders: 2 });
  });

  it('counts a user on two nodes once, drops a SIGKILLed node\'s connection within --presence-ttl, a stopped node\'s at once', async () => {
    // Its own app: nodes of the other tests (killed, default TTL) left members in theirs.
    const [a, b, c] = await nodes(3, ['--presence-ttl', '4000']);
    const onA = client({ url: a!.url, app: 'counts', token: await signToken('u'), reconnect: false });
    const onB = client({ url: b!.url, app: 'counts', token: await signToken('u'), reconnect: false });
    const watcher = client({ url: c!.url, app: 'counts', token: await signToken('w') });
    for (const member of [onA, onB]) {
      member.subscribe('room', () => undefined);
      member.connect();
    }
    const counts: Array<{ users: number; connections: number }> = [];
    watcher.onlineCount('room', (n) => counts.push(n));
    watcher.connect();
    const last = () => counts.at(-1);
    await waitFor(() => last()?.connections === 2, 'both connections counted');
    expect(last()).toEqual({ users: 1, connections: 2 });

    await a!.kill();
    const killed = Date.now();
    await waitFor(() => last()?.connections === 1, 'the crashed node\'s connection gone: ' + JSON.stringify(counts), 10_000);
    // Within the TTL, plus one re-count (presenceInterval, 1 s) and slack for a loaded machine.
    expect(Date.now() - killed).toBeLessThan(4000 + 1000 + 2000);
    expect(last()).toEqual({ users: 1, connections: 1 });

    await b!.stop();
    const stopped = Date.now();
    await waitFor(() => last()?.connections === 0, 'the stopped node\'s connection gone', 5000);
    // At once (one re-count), not after the 4 s TTL.
    expect(Date.now() - stopped).toBeLessThan(2500);
    expect(last()).toEqual({ users: 0, connections: 0 });
  });

  it('holds the /notify rate limit per app across nodes', async () => {
    const [a, b] = await Promise.all([0, 1].map(() => startServer({ broker: redisBroker({ url: redis().url }), notifyRateLimit: { requests: 2, per: 60_000 } })));
    expect((await notify(a!, { appId: 'limited', eventTopics: ['t'], data: 1 })).status).toBe(200);
    expect((await notify(b!, { appId: 'limited', eventTopics: ['t'], data: 2 })).status).toBe(200);
    const third = await notify(a!, { appId: 'limited', eventTopics: ['t'], data: 3 });
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('rate_limited');
  });

  it('answers /notify with 503 and Retry-After while Redis is down, and accepts it again once Redis is back', async () => {
    const own = await startRedis();
    onCleanup(() => own.stop());
    const node = await startNode(own.url);
    onCleanup(() => node.kill());
    expect((await notify(node, { appId: 'shop', eventTopics: ['t'], data: 1 })).status).toBe(200);
    await own.kill();
    const down = await fetch(`${node.httpUrl}/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer integration-test-api-key' },
      body: JSON.stringify({ appId: 'shop', eventTopics: ['t'], data: 2 }),
    });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(await (await fetch(`${node.httpUrl}/healthz`)).json()).toMatchObject({ status: 'degraded' });
    await own.start();
    let status = 0;
    const until = Date.now() + 10_000;
    while (status !== 200 && Date.now() < until) {
      status = (await notify(node, { appId: 'shop', eventTopics: ['t'], data: 2 })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(await (await fetch(`${node.httpUrl}/healthz`)).json()).toMatchObject({ status: 'ok' });
  });
});

describe('when Redis restarts without persistence under traffic', () => {
  it('answers 503 while it is down, then works; connected clients keep receiving; a recovering client is told recovered: false', async () => {
    const own = await startRedis();
    onCleanup(() => own.stop());
    const [a, b] = await Promise.all([startNode(own.url), startNode(own.url)]);
    onCleanup(() => a.kill());
    onCleanup(() => b.kill());
    const stay = client({ url: a.url, app: 'shop', token: await signToken('stay') });
    const stayed: number[] = [];
    stay.subscribe('feed', (m) => stayed.push((m.data as { n: number }).n));
    const proxy = await startProxy(b.port);
    onCleanup(() => proxy.close());
    const back = client({ url: proxy.url(), app: 'shop', token: await signToken('back') });
    const recoveries: boolean[] = [];
    const backGot: number[] = [];
    back.subscribe('feed', (m) => backGot.push((m.data as { n: number }).n), { onSubscribed: (r) => recoveries.push(r.recovered) });
    stay.connect();
    back.connect();
    await waitFor(() => recoveries.length === 1 && stay.state === 'connected', 'both subscribed');
    expect((await notify(b, { appId: 'shop', eventTopics: ['feed'], data: { n: 1 } })).status).toBe(200);
    await waitFor(() => stayed.length === 1 && backGot.length === 1, 'the first message');

    await own.kill();
    proxy.refuse();
    proxy.drop(); // `back` is away while Redis restarts
    expect((await notify(b, { appId: 'shop', eventTopics: ['feed'], data: { n: 2 } })).status).toBe(503);
    await own.start();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await notify(b, { appId: 'shop', eventTopics: ['feed'], data: { n: 2 } })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    proxy.accept();
    await waitFor(() => recoveries.length === 2, 'back resubscribed', 10_000);
    // Redis lost everything: the old position is from another epoch. Nothing replayed, a gap told.
    expect(recoveries).toEqual([true, false]);
    // The connection that stayed up is still subscribed on its node: live messages keep coming.
    for (let i = 0; i < 50 && !stayed.includes(3); i++) {
      await notify(a, { appId: 'shop', eventTopics: ['feed'], data: { n: 3 } });
      await waitFor(() => stayed.includes(3), 'live after the restart', 200).catch(() => undefined);
    }
    expect(stayed.at(-1)).toBe(3);
  }, 40_000);
});
