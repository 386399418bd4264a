import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../server/src/index';
import { cleanup, signToken } from '../support/harness';
import { connectTo, connected, inbox, legacy, refused, startBridge, until } from './helpers';

afterEach(cleanup);

describe('socket.io bridge: life cycle and options', () => {
  it('close() drops socket.io clients with a transport close (they reconnect on their own) and resolves promptly', async () => {
    const server = await startBridge();
    const s = legacy(server, 'shop', 'u');
    await connected(s);
    const reasons: string[] = [];
    s.on('disconnect', (reason) => reasons.push(reason));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(3000);
    await until(() => reasons.length === 1, 'disconnect');
    expect(reasons[0]).toBe('transport close');
  });

  it('disconnects a socket when its token expires (after tokenGrace), saying why first', async () => {
    const server = await startBridge({ socketIo: true, tokenGrace: 0 });
    const s = connectTo(server, 'shop', { auth: { token: await signToken('u', { expiresInSeconds: 1 }) } });
    await connected(s);
    const errors = inbox(s, 'error');
    const reasons: string[] = [];
    s.on('disconnect', (reason) => reasons.push(reason));
    await until(() => reasons.length === 1, 'disconnect at expiry', 4000);
    expect(errors).toEqual([{ code: 'token_expired', message: 'token expired' }]);
    expect(reasons[0]).toBe('transport close');
  });

  it('rejects bad socketIo options with a TypeError naming them', async () => {
    const base = { port: 0, jwtSecret: 'x'.repeat(32), logger: false as const };
    await expect(createServer({ ...base, socketIo: 'yes' as never })).rejects.toThrow(/option "socketIo" must be an object/);
    await expect(createServer({ ...base, socketIo: { path: 'socket.io' } })).rejects.toThrow(/option "socketIo.path"/);
    await expect(createServer({ ...base, socketIo: { path: '/' } })).rejects.toThrow(/option "socketIo.path"/);
    await expect(createServer({ ...base, socketIo: { transports: ['carrier-pigeon'] as never } })).rejects.toThrow(/option "socketIo.transports"/);
    await expect(createServer({ ...base, socketIo: { trustClientHeaders: 'true' as never } })).rejects.toThrow(/option "socketIo.trustClientHeaders" must be a boolean/);
    await expect(createServer({ ...base, socketIo: { topicEvents: 1 as never } })).rejects.toThrow(/option "socketIo.topicEvents" must be a boolean/);
  });

  it('serves socket.io on a custom path, and leaves /socket.io/ alone then', async () => {
    const server = await startBridge({ socketIo: { trustClientHeaders: true, path: '/rt' } });
    const s = legacy(server, 'shop', 'u', undefined, { path: '/rt' });
    await connected(s);
    const res = await fetch(`${server.httpUrl}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(404);
  });
});

describe('socket.io bridge: polling only', () => {
  it('with transports [polling], a WebSocket upgrade on the socket.io path is refused (not left hanging, not taken as native)', async () => {
    const server = await startBridge({ socketIo: { trustClientHeaders: true, transports: ['polling'] } });
    const polling = legacy(server, 'shop', 'p', undefined, { transports: ['polling'] });
    await connected(polling);
    const ws = legacy(server, 'shop', 'w');
    const e = await refused(ws);
    expect(e.message).toMatch(/websocket error/);
  });
});
