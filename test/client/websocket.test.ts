import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { webSocketTransport } from '../../src/transports/websocket';
import type { TransportHandlers } from '../../src/transports/types';

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function server() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await once(wss, 'listening');
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

function recorder() {
  const events: unknown[] = [];
  let resolveClose: (v: unknown) => void;
  const closed = new Promise((r) => (resolveClose = r));
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

describe('webSocketTransport (Node 20: ws loaded on demand)', () => {
  it('opens, moves text frames both ways, delivers binary as ArrayBuffer and reports the close once', async () => {
    const { wss, url } = await server();
    wss.on('connection', (sock) => {
      sock.on('message', (d, binary) => {
        if (!binary) sock.send(`echo:${d}`);
        sock.send(Buffer.from([1, 2, 3]));
        setTimeout(() => sock.close(4004, 'bye'), 20);
      });
    });
    const r = recorder();
    const conn = webSocketTransport()(url, r.handlers);
    while (!r.events.includes('open')) await new Promise((res) => setTimeout(res, 5));
    conn.send('hi');
    expect(await r.closed).toEqual([4004, 'bye']);
    expect(r.events[1]).toBe('echo:hi');
    const bin = r.events[2] as ArrayBuffer;
    expect(bin).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(bin)]).toEqual([1, 2, 3]);
    conn.close();
    await new Promise((res) => setTimeout(res, 20));
    expect(r.events.filter((e) => Array.isArray(e) && e[0] === 'close')).toHaveLength(1);
  });

  it('never calls handlers synchronously inside the transport call', () => {
    const r = recorder();
    class Throwing {
      constructor() {
        throw new Error('no sockets here');
      }
    }
    webSocketTransport({ WebSocket: Throwing as never })('ws://x', r.handlers);
    expect(r.events).toEqual([]);
  });

  it('reports a failed open through onClose 1006 (after onError)', async () => {
    const r = recorder();
    webSocketTransport()('ws://127.0.0.1:1', r.handlers);
    const [code] = (await r.closed) as [number];
    expect(code).toBe(1006);
  });

  it('close() before the socket exists still ends with one onClose', async () => {
    const { url } = await server();
    const r = recorder();
    const conn = webSocketTransport()(url, r.handlers);
    conn.close();
    conn.close();
    await r.closed;
    await new Promise((res) => setTimeout(res, 20));
    expect(r.events.filter((e) => Array.isArray(e))).toHaveLength(1);
    expect(r.events).not.toContain('open');
  });
});
