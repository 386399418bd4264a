import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { TransportHandlers } from '../../src/transports/types';
import { webSocketTransport, type WebSocketConstructor } from '../../src/transports/websocket';
import { cleanup, client, notify, onCleanup, signToken, startServer, waitFor, waitForState } from '../support/harness';
import { startProxy } from '../support/proxy';

// What a build that resolves `#load-ws` without the `node` condition gets (a bundler targeting
// browsers, given `ws` explicitly): no `ws` events, so every socket, `ws` included, is driven
// through its browser-style `on…` handlers. Node's own tests otherwise only take the `ws`-events path.
vi.mock('#load-ws', async () => await import('../../src/transports/load-ws.browser'));

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await cleanup();
});

async function server() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await once(wss, 'listening');
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

/** `ws`, recording that its `on…` handlers were set (the browser-style path) and never its events API by us. */
function recordingWs() {
  const set: string[] = [];
  class Recording extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      for (const name of ['onopen', 'onmessage', 'onerror', 'onclose']) {
        const own = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
        Object.defineProperty(this, name, {
          get: () => own.get!.call(this),
          set: (f: unknown) => {
            set.push(name);
            own.set!.call(this, f);
          },
        });
      }
    }
  }
  return { Ctor: Recording as unknown as WebSocketConstructor, set };
}

function recorder() {
  const events: unknown[] = [];
  let resolveClose: (v: [number, string]) => void;
  const closed = new Promise<[number, string]>((r) => (resolveClose = r));
  const handlers: TransportHandlers = {
    onOpen: () => events.push('open'),
    onMessage: (d) => events.push(d),
    onClose: (code, reason) => {
      events.push(['close', code, reason]);
      resolveClose([code, reason]);
    },
    onError: () => events.push('error'),
  };
  return { events, handlers, closed };
}

describe('webSocketTransport through on… handlers (a build without the node condition, given ws)', () => {
  it('the stub says how to get a WebSocket when there is none', async () => {
    const { loadWebSocket } = await import('#load-ws');
    await expect(loadWebSocket()).rejects.toThrow(/pass webSocketTransport\(\{ WebSocket \}\)/);
  });

  it('sets the four on… handlers, moves text both ways, binary as ArrayBuffer, and reports code and reason of the close once', async () => {
    const { wss, url } = await server();
    wss.on('connection', (sock) => {
      sock.on('message', (d, binary) => {
        if (!binary) sock.send(`echo:${d}`);
        sock.send(Buffer.from([7, 8, 9]));
        setTimeout(() => sock.close(4004, 'bye'), 20);
      });
    });
    const ws = recordingWs();
    const r = recorder();
    const conn = webSocketTransport({ WebSocket: ws.Ctor })(url, r.handlers);
    await waitFor(() => r.events.includes('open'), 'open');
    expect(ws.set.sort()).toEqual(['onclose', 'onerror', 'onmessage', 'onopen']);
    conn.send('hi');
    expect(await r.closed).toEqual([4004, 'bye']);
    expect(r.events[1]).toBe('echo:hi');
    const bin = r.events[2] as ArrayBuffer;
    expect(bin).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(bin)]).toEqual([7, 8, 9]);
    conn.close();
    await new Promise((res) => setTimeout(res, 20));
    expect(r.events.filter((e) => Array.isArray(e))).toHaveLength(1);
  });

  it('a failed open reports the error, then one close with 1006', async () => {
    const r = recorder();
    webSocketTransport({ WebSocket: recordingWs().Ctor })('ws://127.0.0.1:1', r.handlers);
    const [code] = await r.closed;
    expect(code).toBe(1006);
    expect(r.events[0]).toBe('error');
    expect(r.events.filter((e) => Array.isArray(e))).toHaveLength(1);
  });

  it('a client on this path connects to the real server, receives, answers requests, and reconnects when the network drops it', async () => {
    const srv = await startServer({ methods: { echo: (p: unknown) => p } });
    const proxy = await startProxy(srv.port);
    onCleanup(() => proxy.close());
    const ws = recordingWs();
    const c = client({ url: proxy.url(), app: 'shop', token: () => signToken('u1'), transport: webSocketTransport({ WebSocket: ws.Ctor }) });
    const got: unknown[] = [];
    const drops: number[] = [];
    c.on('disconnected', (d) => drops.push(d.code));
    c.subscribe('room:1', (m) => got.push(m.data));
    c.connect();
    await waitForState(c, 'connected');
    expect(ws.set).toContain('onmessage');
    await expect(c.request('echo', { n: 1 })).resolves.toEqual({ n: 1 });
    await waitFor(() => srv.stats().subscriptions > 0, 'server-side subscription');
    expect((await notify(srv, { appId: 'shop', eventTopics: ['room:1'], data: 'hello' })).status).toBe(200);
    await waitFor(() => got.length === 1, 'the published message');
    expect(got).toEqual(['hello']);

    // Reset by the network: the socket's onclose reaches the client, which reconnects and resubscribes.
    proxy.drop();
    await waitFor(() => drops.length > 0, 'a disconnect');
    expect(drops[0]).toBe(1006);
    await waitForState(c, 'connected');
    await expect(c.request('echo', 2)).resolves.toBe(2);
    await waitFor(() => srv.stats().subscriptions > 0, 'the subscription again');
    expect((await notify(srv, { appId: 'shop', eventTopics: ['room:1'], data: 'again' })).status).toBe(200);
    await waitFor(() => got.length === 2, 'a message after the reconnect');
    expect(got).toEqual(['hello', 'again']);
  });
});
