import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { Publication } from '../../src/protocol/frames';
import { cleanup, client, onCleanup, signToken, sleep, startServer, waitFor, waitForState } from '../support/harness';

afterEach(cleanup);

/** Open a raw WebSocket to the server and collect the JSON frames it sends. */
async function rawSocket(url: string) {
  const ws = new WebSocket(url);
  onCleanup(() => ws.terminate());
  const frames: any[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d))));
  await once(ws, 'open');
  return { ws, frames };
}

describe('malformed, unknown and oversized frames', () => {
  it('server answers each bad client frame with its documented error and keeps serving', async () => {
    const server = await startServer({ maxFrameBytes: 4096 } as never);
    const { ws, frames } = await rawSocket(server.url);
    ws.send(JSON.stringify({ t: 'connect', id: 1, v: 1, app: 'shop', token: await signToken('u1') }));
    await waitFor(() => frames.some((f) => f.t === 'reply' && f.id === 1), 'connect reply');
    expect(frames[0].result.user).toBe('u1');

    ws.send('this is not json');
    ws.send(JSON.stringify({ t: 'teleport', id: 2 }));
    ws.send(JSON.stringify({ t: 'sub', id: 3 })); // no topic
    ws.send(JSON.stringify({ t: 'pub', id: 4, topic: 'x', key: 'k', data: 'y'.repeat(5000) }));
    ws.send(JSON.stringify([1, 2, 3]));
    await waitFor(() => frames.length >= 6, 'five answers');
    const codes = frames.slice(1).map((f) => f.error?.code);
    expect(codes).toEqual(['bad_frame', 'unknown_type', 'bad_frame', 'too_large', 'bad_frame']);

    ws.send(JSON.stringify({ t: 'sub', id: 5, topic: 'still-works' }));
    await waitFor(() => frames.some((f) => f.id === 5), 'sub reply after the garbage');
    expect(frames.find((f) => f.id === 5).result.recovered).toBe(true);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('server closes a frame far over the limit with 1009 and keeps serving other connections', async () => {
    const server = await startServer({ maxFrameBytes: 1024 } as never);
    const { ws } = await rawSocket(server.url);
    const closed = once(ws, 'close');
    ws.send('x'.repeat(1024 * 64));
    const [code] = await closed;
    expect(code).toBe(1009);
    const other = await rawSocket(server.url);
    other.ws.send(JSON.stringify({ t: 'connect', id: 1, v: 1, app: 'shop', token: await signToken('u2') }));
    await waitFor(() => other.frames.length === 1, 'other connection served');
    expect(other.frames[0].result.user).toBe('u2');
  });

  it('client reports bad server frames as error events, drops them and keeps delivering', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    onCleanup(() => new Promise((r) => wss.close(r)));
    const port = (wss.address() as { port: number }).port;
    wss.on('connection', (sock) => {
      sock.on('message', (raw) => {
        const f = JSON.parse(String(raw));
        const reply = (result: unknown) => sock.send(JSON.stringify({ t: 'reply', id: f.id, result }));
        if (f.t === 'connect') reply({ client: 'c', user: null, device: null, ping: 25000, maxFrame: 1 << 20, streams: {} });
        if (f.t === 'sub') {
          reply({ epoch: 'e1', offset: 0, recovered: true, pubs: [] });
          sock.send('{"t":"msg", oops');
          sock.send(JSON.stringify({ t: 'wormhole' }));
          sock.send(JSON.stringify({ t: 'msg', topic: 'a', id: 'm1' })); // no offset/epoch/ts
          sock.send(JSON.stringify({ t: 'msg', topic: 'a', id: 'm2', offset: 1, epoch: 'e1', ts: Date.now(), data: 'good' }));
          sock.send(JSON.stringify({ t: 'msg', topic: 'a', id: 'm2', offset: 1, epoch: 'e1', ts: Date.now(), data: 'dup' }));
        }
      });
    });
    const c = client({ url: `ws://127.0.0.1:${port}/ws`, app: 'shop', token: 't' });
    const errors: Array<{ code: string }> = [];
    c.on('error', (e) => errors.push(e));
    const got: Publication[] = [];
    c.subscribe('a', (m) => got.push(m));
    c.connect();
    await waitFor(() => got.length === 1, 'the good message');
    await sleep(100);
    expect(got.map((m) => m.data)).toEqual(['good']);
    expect(errors.map((e) => e.code)).toEqual(['bad_frame', 'unknown_type', 'bad_frame']);
    expect(c.state).toBe('connected');
  });

  it('client refuses to send a frame over the server limit with too_large and stays connected', async () => {
    const server = await startServer({ maxFrameBytes: 2048, canPublish: () => true } as never);
    const c = client({ url: server.url, app: 'shop', token: await signToken('u1') });
    c.connect();
    await waitForState(c, 'connected');
    await expect(c.publish('big', 'z'.repeat(4096))).rejects.toMatchObject({ code: 'too_large' });
    await expect(c.publish('big', 'small')).resolves.toMatchObject({ offset: 1 });
    expect(c.state).toBe('connected');
  });
});
