import { afterEach, describe, expect, it } from 'vitest';
import type { Publication } from 'sdk-realtime';
import { createWechatClient, miniProgramTransport, type MiniProgramApi, type WechatClientOptions } from '../../src/wechat/index';
import { cleanup, notify, onCleanup, signToken, sleep, startServer, waitFor, waitForState } from '../support/harness';
import { FakeWx, MAX_SOCKETS } from './fake-wx';

afterEach(cleanup);

const wechatClient = (wx: FakeWx, options: Omit<WechatClientOptions, 'api'>) => {
  const c = createWechatClient({ reconnect: { floor: 50, ceiling: 300 }, ...options, api: wx as unknown as MiniProgramApi });
  onCleanup(() => c.close());
  return c;
};

describe('createWechatClient', () => {
  it('receives /notify through one SocketTask and never touches the legacy global socket API', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    const c = wechatClient(wx, { url: server.url, app: 'shop', token: await signToken('u1') });
    const got: Publication[] = [];
    c.on('message', (m) => got.push(m));
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    c.connect();
    await waitForState(c, 'connected');
    await notify(server, { appId: 'shop', users: ['u1'], data: { type: 'payment', status: 'success' } });
    await waitFor(() => got.length === 1, 'notification');
    expect(got[0]).toMatchObject({ topic: 'user:u1', data: { type: 'payment', status: 'success' } });
    expect(wx.connectCalls).toBe(1);
    expect(wx.liveSockets).toHaveLength(1);
    expect(errors).toEqual([]);
    c.close();
    await waitFor(() => wx.liveSockets.length === 0, 'socket closed');
    expect(server.stats().connections).toBe(0);
  });

  it('uses globalThis.wx when no api is given', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    (globalThis as any).wx = wx;
    onCleanup(() => delete (globalThis as any).wx);
    const c = createWechatClient({ url: server.url, app: 'shop', token: await signToken('u1') });
    onCleanup(() => c.close());
    c.connect();
    await waitForState(c, 'connected');
    expect(wx.connectCalls).toBe(1);
  });

  it('reports the 6th concurrent socket refused by the platform, backs off, and connects once a socket frees up', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    const token = await signToken('u1');
    const clients = Array.from({ length: MAX_SOCKETS }, () => wechatClient(wx, { url: server.url, app: 'shop', token }));
    for (const c of clients) c.connect();
    await Promise.all(clients.map((c) => waitForState(c, 'connected')));
    const sixth = wechatClient(wx, { url: server.url, app: 'shop', token });
    const errors: string[] = [];
    sixth.on('error', (e) => errors.push(`${e.code}: ${String((e.cause as any)?.errMsg ?? e.message)}`));
    sixth.connect();
    await waitFor(() => errors.some((e) => e.includes('exceed max task count')), 'refusal reported');
    expect(sixth.state).not.toBe('connected');
    clients[0]!.close();
    await waitForState(sixth, 'connected', 3000);
    expect(errors[0]).toMatch(/^transport: /);
    expect(server.stats().connections).toBe(MAX_SOCKETS);
  });

  it('makes no connection attempt while the app is hidden, reconnects at once on show and recovers what it missed', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    const c = wechatClient(wx, { url: server.url, app: 'shop', token: await signToken('u1') });
    const got: Publication[] = [];
    c.subscribe('order:1:status', (m) => got.push(m));
    c.connect();
    await waitForState(c, 'connected');
    await notify(server, { appId: 'shop', eventTopics: ['order:1:status'], data: 'paid' });
    await waitFor(() => got.length === 1, 'first message');

    const calls = wx.connectCalls;
    wx.hide(); // the platform drops the socket in the background
    await waitFor(() => c.state === 'reconnecting', 'link lost');
    await notify(server, { appId: 'shop', eventTopics: ['order:1:status'], data: 'shipped' });
    await sleep(800); // backoff floor is 50 ms: without the hold this would be many attempts
    expect(wx.connectCalls).toBe(calls);
    expect(wx.liveSockets).toHaveLength(0);

    const shownAt = Date.now();
    wx.show();
    await waitForState(c, 'connected');
    expect(Date.now() - shownAt).toBeLessThan(250); // at once, not after the (by now grown) backoff
    await waitFor(() => got.length === 2, 'missed message recovered');
    expect(got.map((m) => m.data)).toEqual(['paid', 'shipped']);
    expect(wx.connectCalls).toBe(calls + 1);
  });

  it('stays reconnectable however long the app is hidden: background time spends no reconnect attempts', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    const c = wechatClient(wx, { url: server.url, app: 'shop', token: await signToken('u1'), reconnect: { floor: 20, ceiling: 40, maxAttempts: 3 } });
    c.connect();
    await waitForState(c, 'connected');
    const calls = wx.connectCalls;
    wx.hide();
    await waitFor(() => c.state === 'reconnecting', 'link lost');
    await sleep(600); // 3 attempts at ≤ 40 ms would have been exhausted many times over
    expect(c.state).toBe('reconnecting');
    expect(c.getSnapshot().reason).toBe('paused');
    expect(wx.connectCalls).toBe(calls);
    wx.show();
    await waitForState(c, 'connected');
    expect(wx.connectCalls).toBe(calls + 1);
  });

  it('holds attempts while offline and reconnects when onNetworkStatusChange says the network is back', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    const c = wechatClient(wx, { url: server.url, app: 'shop', token: await signToken('u1') });
    c.connect();
    await waitForState(c, 'connected');
    const calls = wx.connectCalls;
    wx.setOnline(false);
    await waitFor(() => c.state === 'reconnecting', 'link lost');
    await sleep(500);
    expect(wx.connectCalls).toBe(calls);
    wx.setOnline(true);
    await waitForState(c, 'connected', 1000);
    expect(wx.connectCalls).toBe(calls + 1);
  });

  it('removes its platform listeners when closed', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    const c = wechatClient(wx, { url: server.url, app: 'shop', token: await signToken('u1') });
    c.connect();
    await waitForState(c, 'connected');
    expect(wx.listenerCount).toBe(3);
    c.close();
    expect(wx.listenerCount).toBe(0);
  });

  it('persists the outbox in wx storage so a restarted app delivers queued publishes exactly once', async () => {
    const server = await startServer({ canPublish: () => true } as never);
    const reader = createWechatClient({ api: new FakeWx() as never, url: server.url, app: 'chat', token: await signToken('reader') });
    onCleanup(() => reader.close());
    const got: Publication[] = [];
    reader.subscribe('room', (m) => got.push(m));
    reader.connect();
    await waitForState(reader, 'connected');

    const wx = new FakeWx();
    const token = await signToken('writer');
    wx.online = false; // the first session never gets online
    const first = wechatClient(wx, { url: server.url, app: 'chat', token });
    first.on('error', () => {});
    first.connect();
    const pending = [first.publish('room', 'one'), first.publish('room', 'two')];
    for (const p of pending) p.catch(() => {});
    await waitFor(() => wx.storage.has('sdk-realtime:chat:outbox'), 'outbox saved');
    first.close(); // the app is killed
    expect(JSON.parse(wx.storage.get('sdk-realtime:chat:outbox')!)).toHaveLength(2);

    wx.online = true;
    const second = wechatClient(wx, { url: server.url, app: 'chat', token });
    second.connect();
    await waitFor(() => got.length === 2, 'queued publishes delivered');
    await waitFor(() => !wx.storage.has('sdk-realtime:chat:outbox'), 'outbox cleared');
    second.close();
    const third = wechatClient(wx, { url: server.url, app: 'chat', token });
    third.connect();
    await waitForState(third, 'connected');
    await sleep(200);
    expect(got.map((m) => m.data)).toEqual(['one', 'two']);
  });
});

describe('miniProgramTransport', () => {
  it('speaks to the server through the Alipay `my` shape (multiple: true, nested message data, no close code)', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    // Alipay: connectSocket returns a task only with `multiple: true`; onMessage nests { data, isBuffer }; onClose has no code.
    const my = {
      connectSocket(options: any) {
        if (!options.multiple) return undefined;
        const task = wx.connectSocket(options);
        return {
          onOpen: (cb: any) => task.onOpen(cb),
          onMessage: (cb: any) => task.onMessage((res: any) => cb({ data: { data: res.data, isBuffer: false } })),
          onClose: (cb: any) => task.onClose(() => cb({})),
          onError: (cb: any) => task.onError((res: any) => cb({ error: 1, errorMessage: res.errMsg })),
          send: (o: any) => task.send(o),
          close: (o: any) => task.close(o),
        };
      },
    };
    const { createClient } = await import('sdk-realtime');
    const alipay = createClient({ url: server.url, app: 'shop', token: await signToken('u1'), transport: miniProgramTransport({ api: my }) });
    onCleanup(() => alipay.close());
    const got: unknown[] = [];
    alipay.on('message', (m) => got.push(m.data));
    alipay.connect();
    await waitForState(alipay, 'connected');
    await notify(server, { appId: 'shop', users: ['u1'], data: 'hi' });
    await waitFor(() => got.length === 1, 'message');
    expect(got).toEqual(['hi']);
  });

  it('decodes Alipay base64 binary frames to an ArrayBuffer', async () => {
    const frames: unknown[] = [];
    let push: (res: unknown) => void = () => {};
    const api = {
      connectSocket: () => ({
        onOpen: (cb: any) => setTimeout(cb, 0),
        onMessage: (cb: any) => (push = cb),
        onClose: () => {},
        onError: () => {},
        send: () => {},
        close: () => {},
      }),
    };
    const conn = miniProgramTransport({ api })('wss://x', {
      onOpen: () => push({ data: { data: Buffer.from('héllo').toString('base64'), isBuffer: true } }),
      onMessage: (d) => frames.push(d),
      onClose: () => {},
    });
    await waitFor(() => frames.length === 1, 'frame');
    expect(frames[0]).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(frames[0] as ArrayBuffer).toString()).toBe('héllo');
    conn.close();
  });

  it('reports a missing API and a failed connectSocket through onClose exactly once, never synchronously', async () => {
    const ends: Array<[number, string]> = [];
    let sync = true;
    const handlers = { onOpen() {}, onMessage() {}, onClose: (code: number, reason: string) => ends.push([code, reason]) };
    miniProgramTransport({ api: {} as never })('wss://x', handlers);
    miniProgramTransport({ hold: () => 'app hidden' })('wss://x', handlers);
    expect(sync && ends).toEqual([]);
    sync = false;
    await sleep(10);
    expect(ends).toEqual([
      [1006, 'no mini-program API: pass options.api (wx, uni, Taro or my)'],
      [1001, 'app hidden'],
    ]);
  });

  it('ends a connection closed before it opened once, and closes the late socket', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    const ends: number[] = [];
    const conn = miniProgramTransport({ api: wx })(server.url, { onOpen() {}, onMessage() {}, onClose: (code) => ends.push(code) });
    await sleep(0);
    conn.close(4000, 'bye');
    conn.close();
    await waitFor(() => wx.liveSockets.length === 0, 'late socket closed');
    await sleep(50);
    expect(ends).toEqual([4000]);
  });

  it('falls back to a plain close when the platform refuses the close code', async () => {
    const server = await startServer();
    const wx = new FakeWx();
    const ends: number[] = [];
    let open = false;
    const conn = miniProgramTransport({ api: wx })(server.url, { onOpen: () => (open = true), onMessage() {}, onClose: (code) => ends.push(code) });
    await waitFor(() => open, 'open');
    conn.close(1001, 'going away'); // WeChat only accepts 1000 and 3000–4999
    await waitFor(() => ends.length === 1, 'closed');
    expect(ends).toEqual([1000]);
  });
});
