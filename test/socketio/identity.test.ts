import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, notify, signToken } from '../support/harness';
import { connectTo, connected, inbox, legacy, refused, startBridge, until } from './helpers';

afterEach(cleanup);

describe('socket.io bridge: identity', () => {
  it('by default takes a JWT from auth.token, verified like native connections, and subscribes its personal streams', async () => {
    const server = await startBridge({ socketIo: true });
    const s = connectTo(server, 'shop', { auth: { token: await signToken('user-567', { device: 'ios-1' }) } });
    await connected(s);
    const got = inbox(s);
    await notify(server, { appId: 'shop', users: ['user-567'], data: { to: 'user' } });
    await notify(server, { appId: 'shop', devices: ['ios-1'], data: { to: 'device' } });
    await until(() => got.length === 2, 'two personal messages');
    expect(got).toEqual([{ to: 'user' }, { to: 'device' }]);
  });

  it('accepts the JWT as an Authorization: Bearer header', async () => {
    const server = await startBridge({ socketIo: true });
    const s = connectTo(server, 'shop', { extraHeaders: { authorization: `Bearer ${await signToken('u-bearer')}` } });
    await connected(s);
    const got = inbox(s);
    await notify(server, { appId: 'shop', users: ['u-bearer'], data: 1 });
    await until(() => got.length === 1, 'message');
  });

  it('without trustClientHeaders, x-client-id is not an identity: connect_error names the missing token', async () => {
    const server = await startBridge({ socketIo: true });
    const e = await refused(legacy(server, 'shop', 'user-567'));
    expect(e.message).toMatch(/token missing/);
    expect(e.data?.code).toBe('unauthorized');
  });

  it('refuses a bad or expired token, and a token bound to another app, with the reason', async () => {
    const server = await startBridge({ socketIo: true, tokens: { anyApp: false } });
    const bad = await refused(connectTo(server, 'shop', { auth: { token: 'not-a-jwt' } }));
    expect(bad.data?.code).toBe('unauthorized');
    const expired = await refused(connectTo(server, 'shop', { auth: { token: await signToken('u', { app: 'shop', expiresInSeconds: -60 }) } }));
    expect(expired.data?.code).toBe('unauthorized');
    const other = await refused(connectTo(server, 'shop', { auth: { token: await signToken('u', { app: 'elsewhere' }) } }));
    expect(other.message).toMatch(/another app/);
    expect(other.data?.code).toBe('forbidden');
  });

  it('a token wins over trusted headers: its user is the identity', async () => {
    const server = await startBridge();
    const s = connectTo(server, 'shop', { auth: { token: await signToken('real-user') }, extraHeaders: { 'x-client-id': 'claimed-user' } });
    await connected(s);
    const got = inbox(s);
    await notify(server, { appId: 'shop', users: ['claimed-user'], data: { wrong: true } });
    await notify(server, { appId: 'shop', users: ['real-user'], data: { right: true } });
    await until(() => got.length > 0, 'message');
    expect(got).toEqual([{ right: true }]);
  });

  it('with trustClientHeaders and no headers at all, connect_error says what is missing', async () => {
    const server = await startBridge();
    const e = await refused(connectTo(server, 'shop'));
    expect(e.message).toMatch(/no credentials/);
    expect(e.data?.code).toBe('unauthorized');
  });

  it('honours the apps allow-list (unknown namespaces are refused) and refuses the main namespace', async () => {
    const server = await startBridge({ apps: ['shop', 'chat'] });
    await connected(legacy(server, 'shop', 'u'));
    const e = await refused(legacy(server, 'not-allowed', 'u'));
    expect(e.message).toMatch(/Invalid namespace/);
    const root = await refused(connectTo(server, '', { extraHeaders: { 'x-client-id': 'u' } }));
    expect(root.message).toMatch(/namespace of your app/);
  });

  it('is off unless asked for: /socket.io/ is then an ordinary 404', async () => {
    const server = await startBridge({ socketIo: false });
    const res = await fetch(`${server.httpUrl}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(404);
  });

  it('refuses at maxConnections, counting native and socket.io connections together', async () => {
    const server = await startBridge({ maxConnections: 2 });
    await connected(legacy(server, 'shop', 'a'));
    await connected(legacy(server, 'shop', 'b'));
    const e = await refused(legacy(server, 'shop', 'c'));
    expect(e.message).toMatch(/connection limit/);
  });
});

describe('socket.io bridge: the shared connection limit', () => {
  it('a native connection is refused (1013) when socket.io sockets fill maxConnections', async () => {
    const server = await startBridge({ maxConnections: 1 });
    await connected(legacy(server, 'shop', 'a'));
    const ws = new WebSocket(server.url);
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect(code).toBe(1013);
  });
});

describe('socket.io bridge: per-address limit', () => {
  it('refuses sockets beyond maxConnectionsPerIp with the reason, and admits again once one leaves', async () => {
    const server = await startBridge({ maxConnectionsPerIp: 2 });
    const a = legacy(server, 'shop', 'a');
    await connected(a);
    await connected(legacy(server, 'shop', 'b'));
    const e = await refused(legacy(server, 'shop', 'c'));
    expect(e.message).toMatch(/too many connections from this address/);
    a.close();
    await until(() => server.stats().connections === 1, 'a gone');
    await connected(legacy(server, 'shop', 'd'));
  });

  it('bounds engine.io sessions that never join a namespace (twice the per-address limit)', async () => {
    const server = await startBridge({ maxConnectionsPerIp: 2 });
    const handshake = () => fetch(`${server.httpUrl}/socket.io/?EIO=4&transport=polling`);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await handshake()).status);
    expect(answers).toEqual([200, 200, 200, 200, 403]);
  });
});
