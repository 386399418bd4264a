import { afterEach, describe, expect, it } from 'vitest';
import { createFlags } from '../../src/flags/index';
import { redisBroker } from '../../server/src/index';
import { API_KEY, cleanup, client, onCleanup, startServer, waitFor, waitForState, type TestServer, signToken } from '../support/harness';
import { redisForFile } from '../support/redis';

const redis = redisForFile();
afterEach(cleanup);


const node = (prefix: string, extra: { checkInterval?: number; warnings?: string[] } = {}) =>
  startServer({
    broker: redisBroker({ url: redis().url, prefix }),
    flags: { redis: { url: redis().url, prefix, ...(extra.checkInterval ? { checkInterval: extra.checkInterval } : {}) } },
    ...(extra.warnings ? { logger: { info() {}, warn: (m: string) => extra.warnings!.push(m), error() {} } } : {}),
  });

/** A write as a node makes it (version, then the write and the revision's second step), but its control message is lost. */
async function writeWithoutMessage(prefix: string, key: string, def: Record<string, unknown>) {
  const { Redis } = await import('ioredis');
  const r = new Redis(redis().url);
  try {
    const version = await r.incr(`${prefix}:flags:rev`);
    await r.multi().hset(`${prefix}:flags`, key, JSON.stringify({ key, rules: [], salt: '', ...def, version })).incr(`${prefix}:flags:rev`).exec();
  } finally {
    r.disconnect();
  }
}

async function connectedFlags(server: TestServer) {
  const c = client({ url: server.url, app: 'shop', token: await signToken('u1') });
  const flags = createFlags(c);
  onCleanup(() => flags.close());
  c.connect();
  await flags.ready;
  return flags;
}
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

describe('flags on Redis: a lost control message (revision check)', () => {
  it('hears ordinary writes without reloading (each message is the next revision)', async () => {
    const prefix = `t${Date.now()}n`;
    const warnings: string[] = [];
    const a = await node(prefix);
    const b = await node(prefix, { warnings });
    const flags = await connectedFlags(b);
    for (let i = 1; i <= 3; i++) {
      expect((await put(a, 'seq', { enabled: true, value: i })).status).toBe(200);
      await waitFor(() => flags.get('seq', 0) === i, `write ${i}`);
    }
    expect((await fetch(`${a.httpUrl}/api/flags/seq`, { method: 'DELETE', headers: { authorization: `Bearer ${API_KEY}` } })).status).toBe(200);
    await waitFor(() => flags.get('seq', 'gone') === 'gone', 'delete');
    expect(warnings.filter((w) => w.includes('revision gap'))).toEqual([]);
  });

  it('finds a write whose message was lost on its timer, reloads, and patches its clients', async () => {
    const prefix = `t${Date.now()}l`;
    const warnings: string[] = [];
    const b = await node(prefix, { checkInterval: 200, warnings });
    const flags = await connectedFlags(b);
    await writeWithoutMessage(prefix, 'lost', { enabled: true, value: 'found' });
    await waitFor(() => flags.get('lost', '') === 'found', 'patch after the revision check', 5000);
    expect(warnings.some((w) => w.includes('revision gap'))).toBe(true);
  });

  it('checks at once when its pub/sub link comes back (messages sent meanwhile are lost)', async () => {
    const prefix = `t${Date.now()}r`;
    // The timer alone would take a minute: only the reconnect check can find this in time.
    const b = await node(prefix, { checkInterval: 60_000 });
    const flags = await connectedFlags(b);
    await writeWithoutMessage(prefix, 'missed', { enabled: true, value: 'caught-up' });
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis().url);
    onCleanup(() => admin.disconnect());
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitFor(() => flags.get('missed', '') === 'caught-up', 'patch after the pub/sub reconnect', 5000);
  });

  it('refuses a bad checkInterval, naming it', async () => {
    await expect(startServer({ flags: { redis: { url: redis().url, checkInterval: 5 } } })).rejects.toThrow(/flags\.redis\.checkInterval/);
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
