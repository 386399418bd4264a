import { afterEach, describe, expect, it } from 'vitest';
import { createFlags } from '../../src/flags/index';
import { redisBroker } from '../../server/src/index';
import { API_KEY, cleanup, client, onCleanup, startServer, waitFor, waitForState, type TestServer, signToken } from '../support/harness';
import { redisForFile } from '../support/redis';

const redis = redisForFile();
afterEach(cleanup);


const node = (prefix: string) => startServer({ broker: redisBroker({ url: redis().url, prefix }), flags: { redis: { url: redis().url, prefix } } });
const put = (server: TestServer, key: string, body: unknown) =>
  fetch(`${server.httpUrl}/api/flags/${key}`, { method: 'PUT', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('flags on Redis (two nodes)', () => {
  it('persists a write made on one node and pushes it to clients on the other within a second', async () => {
    const prefix = `t${Date.now()}`;
    const a = await node(prefix);
    const b = await node(prefix);
    expect((await put(a, 'beta', { enabled: true, value: 'one' })).status).toBe(200);
    const c = client({ url: b.url, app: 'shop', token: await signToken('u1') });
    const flags = createFlags(c);
    onCleanup(() => flags.close());
    c.connect();
    await waitForState(c, 'connected');
    await waitFor(() => flags.get('beta', '') === 'one', 'snapshot from Redis on the other node');
    const started = Date.now();
    expect((await put(a, 'beta', { enabled: true, value: 'two' })).status).toBe(200);
    await waitFor(() => flags.get('beta', '') === 'two', 'patch via the other node');
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await fetch(`${a.httpUrl}/api/flags/beta`, { method: 'DELETE', headers: { authorization: `Bearer ${API_KEY}` } })).status).toBe(200);
    await waitFor(() => flags.get('beta', 'gone') === 'gone', 'delete via the other node');
    // A node started later reads the set from Redis.
    expect((await put(b, 'gamma', { enabled: true, value: 3 })).status).toBe(200);
    const late = await node(prefix);
    const res = await fetch(`${late.httpUrl}/api/flags`, { headers: { authorization: `Bearer ${await signToken('u1')}` } });
    expect(((await res.json()) as { flags: Record<string, { value: unknown }> }).flags).toMatchObject({ gamma: { value: 3 } });
  });
});

describe('flags on Redis (two CLI processes, --flags-redis)', () => {
  it('pushes a write made on one process to a client of the other', async () => {
    const { startNode } = await import('../support/nodes');
    const [a, b] = await Promise.all([startNode(redis().url, ['--flags-redis']), startNode(redis().url, ['--flags-redis'])]);
    onCleanup(() => a.kill());
    onCleanup(() => b.kill());
    const c = client({ url: b.url, app: 'shop', token: await signToken('u1') });
    const flags = createFlags(c);
    onCleanup(() => flags.close());
    c.connect();
    await flags.ready;
    const res = await fetch(`${a.httpUrl}/api/flags/cli-flag`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, value: 'from-a' }),
    });
    expect(res.status).toBe(200);
    await waitFor(() => flags.get('cli-flag', '') === 'from-a', 'patch across processes');
  });
});
