import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Publication } from 'sdk-realtime';
import { channelTransport, messagePort } from '../../src/channel/index';
import { cleanup, notify, onCleanup, signToken, sleep, startServer, waitFor, waitForState } from '../support/harness';

afterEach(cleanup);

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let workerFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sdk-realtime-worker-'));
  workerFile = join(dir, 'worker.cjs');
  await build({
    entryPoints: [join(root, 'test/channel/worker-entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: workerFile,
    alias: { 'sdk-realtime': join(root, 'src/index.ts') },
    external: ['bufferutil', 'utf-8-validate'],
    logLevel: 'silent',
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A worker thread owning the socket; `terminate` kills it like a crashed host. */
function startWorker() {
  const worker = new Worker(workerFile);
  onCleanup(() => worker.terminate());
  return worker;
}

describe('channel transport with a worker_threads host', () => {
  it('the main-thread client connects, subscribes and receives /notify while the worker owns the socket', async () => {
    const server = await startServer();
    const worker = startWorker();
    const c = createClient({ url: server.url, app: 'shop', token: await signToken('u1'), transport: channelTransport(messagePort(worker)) });
    onCleanup(() => c.close());
    const got: Publication[] = [];
    c.subscribe('stock:42', (m) => got.push(m));
    c.on('message', () => {});
    c.connect();
    await waitForState(c, 'connected');
    await waitFor(() => server.stats().subscriptions === 1, 'subscribed');
    await notify(server, { appId: 'shop', eventTopics: ['stock:42'], users: ['u1'], data: { left: 3 } });
    await waitFor(() => got.length === 1, 'message');
    expect(got[0]).toMatchObject({ topic: 'stock:42', data: { left: 3 } });
    await expect(c.request('nope')).rejects.toMatchObject({ code: 'method_not_found' });
    expect(server.stats().connections).toBe(1);

    c.close();
    await waitFor(() => server.stats().connections === 0, 'host closed the socket when the client closed');
  });

  it('reconnects through the host after the server drops the link, and recovers', async () => {
    const server = await startServer();
    const worker = startWorker();
    const c = createClient({
      url: server.url,
      app: 'shop',
      token: await signToken('u1'),
      transport: channelTransport(messagePort(worker)),
      reconnect: { floor: 50, ceiling: 200 },
    });
    onCleanup(() => c.close());
    const got: unknown[] = [];
    c.subscribe('t', (m) => got.push(m.data));
    c.connect();
    await waitForState(c, 'connected');
    await waitFor(() => server.stats().subscriptions === 1, 'subscribed');
    await notify(server, { appId: 'shop', eventTopics: ['t'], data: 1 });
    await waitFor(() => got.length === 1, 'first');
    const port = server.port;
    await server.close();
    await waitFor(() => c.state === 'reconnecting', 'link lost');
    const again = await startServer({ port });
    await waitForState(c, 'connected', 3000);
    await notify(again, { appId: 'shop', eventTopics: ['t'], data: 2 });
    await waitFor(() => got.length === 2, 'after reconnect');
    expect(got).toEqual([1, 2]);
  });

  it('a host that dies is detected by the client heartbeat / connect timeout, and a new host takes over', async () => {
    const server = await startServer({ pingInterval: 200 } as never);
    let worker = startWorker();
    // The transport is bound to a port; a port that follows the current worker stands in for an app re-creating its host.
    const listeners = new Set<(m: unknown) => void>();
    const follow = (w: Worker) => w.on('message', (m) => listeners.forEach((l) => l(m)));
    follow(worker);
    const port = { postMessage: (m: unknown) => worker.postMessage(m), subscribe: (l: (m: unknown) => void) => (listeners.add(l), () => void listeners.delete(l)) };
    const c = createClient({
      url: server.url,
      app: 'shop',
      token: await signToken('u1'),
      transport: channelTransport(port),
      reconnect: { floor: 50, ceiling: 200 },
      heartbeat: { timeout: 200 },
      connectTimeout: 500,
    });
    onCleanup(() => c.close());
    c.on('error', () => {});
    c.connect();
    await waitForState(c, 'connected');
    await worker.terminate();
    await waitFor(() => c.state !== 'connected', 'dead host detected', 3000);
    worker = startWorker();
    follow(worker);
    await waitForState(c, 'connected', 5000);
    await waitFor(() => server.stats().connections === 1, 'one connection, the old one gone', 3000);
  });

  it('refuses URLs the host does not allow and bounds connections per port', async () => {
    const { createChannelHost } = await import('../../src/channel/index');
    const { port1, port2 } = new MessageChannel();
    onCleanup(() => {
      port1.close();
      port2.close();
    });
    const opened: string[] = [];
    const host = createChannelHost(messagePort(port2 as never), {
      maxConnections: 1,
      allow: (url) => url.startsWith('ws://ok'),
      transport: (url) => (opened.push(url), { send() {}, close() {} }),
    });
    onCleanup(() => host.close());
    const t = channelTransport(messagePort(port1 as never));
    const ends: Array<[number, string]> = [];
    const h = { onOpen() {}, onMessage() {}, onClose: (code: number, reason: string) => ends.push([code, reason]) };
    t('ws://evil/ws', h);
    t('ws://ok/1', h);
    await sleep(20);
    t('ws://ok/2', h);
    await waitFor(() => ends.length === 2, 'two refusals');
    expect(ends).toEqual([
      [1008, 'url not allowed'],
      [1013, 'too many connections'],
    ]);
    expect(opened).toEqual(['ws://ok/1']);
    expect(host.size).toBe(1);
  });
});
