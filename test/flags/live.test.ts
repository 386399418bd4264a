import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFlags, type Flags } from '../../src/flags/index';
import { memoryStorage } from '../../src/index';
import type { FlagInput } from '../../server/src/index';
import { startProxy } from '../support/proxy';
import { API_KEY, cleanup, client, onCleanup, startServer, waitFor, waitForState, type TestServer, signToken } from '../support/harness';

afterEach(cleanup);


const put = (server: TestServer, key: string, body: unknown, apiKey: string | null = API_KEY) =>
  fetch(`${server.httpUrl}/api/flags/${key}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** A connected client with flags and the list of change events it saw. */
async function flagsClient(server: TestServer, sub: string, claims: Record<string, unknown> = {}) {
  const c = client({ url: server.url, app: 'shop', token: await signToken(sub, claims) });
  const flags = createFlags(c, { defaults: { banner: 'none' } });
  onCleanup(() => flags.close());
  const changes: string[][] = [];
  flags.on('change', (keys) => changes.push(keys));
  c.connect();
  await waitForState(c, 'connected');
  await flags.ready;
  changes.length = 0; // the snapshot's own change
  return { c, flags, changes };
}

const checkout: FlagInput = { key: 'checkout', enabled: true, value: 'old', rules: [{ if: { role: 'admin' }, value: 'new' }] };

describe('flags over the realtime connection', () => {
  it('sends each connection its evaluated snapshot on connect, from verified claims only', async () => {
    const server = await startServer({ flags: { definitions: [checkout] } });
    const admin = await flagsClient(server, 'a1', { role: 'admin' });
    const user = await flagsClient(server, 'u1');
    expect(admin.flags.get('checkout', 'x')).toBe('new');
    expect(user.flags.get('checkout', 'x')).toBe('old');
    expect(user.flags.get('banner', 'x')).toBe('none'); // a default until the server has it
    expect(user.flags.get('unknown', 'fallback')).toBe('fallback');
  });

  it('sends only the flags of the connection\'s app, and patches for another app reach nobody here', async () => {
    const server = await startServer({ flags: { definitions: [checkout, { key: 'forum-only', enabled: true, apps: ['forum'] }] } });
    const x = await flagsClient(server, 'u1');
    expect(x.flags.getSnapshot()).toEqual({ banner: 'none', checkout: 'old' });
    await put(server, 'forum-only', { enabled: true, value: 'x', apps: ['forum'] });
    await put(server, 'marker', { enabled: true, value: 1 });
    await waitFor(() => x.flags.get('marker', 0) === 1, 'marker');
    expect(x.changes).toEqual([['marker']]);
  });

  it('pushes a change within a second only to the connections whose result changed', async () => {
    const server = await startServer({ flags: { definitions: [checkout] } });
    const admins = await Promise.all(Array.from({ length: 5 }, (_, i) => flagsClient(server, `a${i}`, { roles: ['admin'] })));
    const users = await Promise.all(Array.from({ length: 15 }, (_, i) => flagsClient(server, `u${i}`)));
    const started = Date.now();
    // Only admins' result changes: they get `checkout`.
    expect((await put(server, 'checkout', { ...checkout, rules: [{ if: { role: 'admin' }, value: 'newer' }] })).status).toBe(200);
    await waitFor(() => admins.every((a) => a.flags.get('checkout', '') === 'newer'), 'admins patched');
    expect(Date.now() - started).toBeLessThan(1000);
    // A marker everyone's result changes for: once users have it, any checkout patch would have come first.
    expect((await put(server, 'marker', { enabled: true, value: 1 })).status).toBe(200);
    await waitFor(() => [...admins, ...users].every((x) => x.flags.get('marker', 0) === 1), 'marker everywhere');
    for (const u of users) expect(u.changes).toEqual([['marker']]);
    for (const a of admins) expect(a.changes).toEqual([['checkout'], ['marker']]);
    // A delete reaches everyone as a removal (back to the default or fallback).
    expect((await fetch(`${server.httpUrl}/api/flags/marker`, { method: 'DELETE', headers: { authorization: `Bearer ${API_KEY}` } })).status).toBe(200);
    await waitFor(() => users.every((u) => u.flags.get('marker', 'gone') === 'gone'), 'marker deleted');
  });

  it('$flags counts against neither canSubscribe nor maxSubscriptions, and only the server writes it', async () => {
    const server = await startServer({ maxSubscriptions: 1, canSubscribe: (_ctx, topic) => topic === 'room', canPublish: () => true, flags: { definitions: [checkout] } });
    const x = await flagsClient(server, 'u1');
    expect(x.flags.get('checkout', '')).toBe('old');
    let roomSubscribed = false;
    x.c.subscribe('room', () => undefined, { onSubscribed: () => (roomSubscribed = true) });
    await waitFor(() => roomSubscribed, 'room subscribed beside $flags (limit 1)');
    // The limit and the hook are in force for topics.
    const refused: string[] = [];
    x.c.subscribe('room-2', () => undefined, { onError: (e) => refused.push(e.code) });
    await waitFor(() => refused.length > 0, 'room-2 refused');
    expect(refused[0]).toBe('forbidden');
    await expect(x.c.publish('$flags', { type: 'patch', flags: { checkout: { value: 'forged' } } })).rejects.toMatchObject({ code: 'forbidden' });
    expect(x.flags.get('checkout', '')).toBe('old');
  });

  it('an anonymous connection (allowAnonymous) gets the flags of no user: user rules do not match', async () => {
    const server = await startServer({ allowAnonymous: true, flags: { definitions: [{ key: 'vip', enabled: true, value: false, rules: [{ if: { users: 'u1' }, value: true }] }] } });
    const c = client({ url: server.url, app: 'shop' });
    const flags = createFlags(c);
    onCleanup(() => flags.close());
    c.connect();
    await flags.ready;
    expect(flags.get('vip', null)).toBe(false);
  });

  it('opens and closes a time window with no write (a server timer)', async () => {
    // Boundaries a second apart and waits far past them: on a loaded machine (the whole suite
    // at once on two cores) a timer or a frame can be late by more than the window itself.
    const now = Date.now();
    const startAt = now + 1200;
    const endAt = now + 2200;
    const server = await startServer({ flags: { definitions: [{ key: 'sale', enabled: true, value: true, startAt, endAt }] } });
    const x = await flagsClient(server, 'u1');
    let drops = 0;
    x.c.on('disconnected', () => drops++);
    const seen = (what: string) => `${what} (state ${x.c.state}, ${drops} disconnects, ${Date.now() - now} ms after start)`;
    expect(x.flags.get('sale', 'unset')).toBe(false);
    await waitFor(() => x.flags.get<unknown>('sale', 'unset') === true, () => seen('window open'), 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(startAt);
    await waitFor(() => x.flags.get<unknown>('sale', 'unset') === false, () => seen('window closed'), 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(endAt);
    expect(x.changes).toEqual([['sale'], ['sale']]);
  });

  it('gets a fresh snapshot after a reconnect (the batched resubscribe), with what changed while away', async () => {
    const server = await startServer({ flags: { definitions: [checkout] } });
    const proxy = await startProxy(server.port);
    onCleanup(() => proxy.close());
    const c = client({ url: proxy.url('/ws'), app: 'shop', token: await signToken('u1') });
    const flags = createFlags(c);
    onCleanup(() => flags.close());
    c.subscribe('other', () => undefined); // a second topic, so the resubscribe is a `subs` frame
    c.connect();
    await flags.ready;
    expect(flags.get('checkout', '')).toBe('old');
    proxy.refuse();
    proxy.drop();
    await waitFor(() => c.state !== 'connected', 'link dropped');
    await put(server, 'checkout', { ...checkout, value: 'changed-while-away' });
    proxy.accept();
    await waitFor(() => flags.get('checkout', '') === 'changed-while-away', 'snapshot after reconnect', 10_000);
    // Live patches flow again on the new epoch.
    await put(server, 'checkout', { ...checkout, value: 'after' });
    await waitFor(() => flags.get('checkout', '') === 'after', 'patch after reconnect');
  });

  it('re-evaluates a connection whose refreshed token has other claims', async () => {
    const server = await startServer({ flags: { definitions: [checkout] } });
    const short = await signToken('u1', { expiresInSeconds: 2 });
    const promoted = await signToken('u1', { role: 'admin' });
    let calls = 0;
    const c = client({ url: server.url, app: 'shop', token: () => (calls++ === 0 ? short : promoted) });
    const flags = createFlags(c);
    onCleanup(() => flags.close());
    let drops = 0;
    c.on('disconnected', () => drops++);
    c.connect();
    await flags.ready;
    expect(flags.get('checkout', '')).toBe('old');
    await waitFor(() => flags.get('checkout', '') === 'new', 'patch after the refresh', 6000);
    expect(calls).toBe(2);
    expect(drops).toBe(0); // a patch on the same connection, not a reconnect's snapshot
  });

  it('is ready at once from storage, then applies the server snapshot as a change', async () => {
    const server = await startServer({ flags: { definitions: [checkout] } });
    const storage = memoryStorage();
    await storage.set('sdk-realtime:flags', JSON.stringify({ checkout: 'stored' }));
    const c = client({ url: server.url, app: 'shop', token: await signToken('u1') });
    const flags: Flags = createFlags(c, { storage });
    onCleanup(() => flags.close());
    await flags.ready;
    expect(flags.get('checkout', '')).toBe('stored');
    c.connect();
    await waitFor(() => flags.get('checkout', '') === 'old', 'snapshot applied');
    let stored: string | undefined;
    await waitFor(() => (void storage.get('sdk-realtime:flags').then((t) => (stored = t)), stored?.includes('"old"') === true), 'snapshot stored');
    expect(JSON.parse(stored!)).toEqual({ checkout: 'old' });
  });

  it('polls GET /api/flags over HTTP when no realtime client is given', async () => {
    const server = await startServer({ flags: { definitions: [checkout] } });
    const flags = createFlags(undefined, { url: server.httpUrl, token: await signToken('a1', { role: 'admin' }), interval: 50 });
    onCleanup(() => flags.close());
    await flags.ready;
    expect(flags.get('checkout', '')).toBe('new');
    await put(server, 'checkout', { ...checkout, rules: [] });
    await waitFor(() => flags.get('checkout', '') === 'old', 'polled change');
  });
});

describe('flags file', () => {
  it('reloads an edit, keeps the last good set on a bad edit (logged), and persists admin writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flags-'));
    const file = join(dir, 'flags.json');
    writeFileSync(file, JSON.stringify([{ key: 'a', enabled: true, value: 1 }]));
    const errors: string[] = [];
    const server = await startServer({
      flags: { file },
      logger: { info() {}, warn() {}, error: (m: string) => errors.push(m) },
    });
    const x = await flagsClient(server, 'u1');
    expect(x.flags.get('a', 0)).toBe(1);
    writeFileSync(file, JSON.stringify([{ key: 'a', enabled: true, value: 2 }]));
    await waitFor(() => x.flags.get('a', 0) === 2, 'reloaded');
    writeFileSync(file, JSON.stringify([{ key: 'a', enabled: 'yes', value: 3 }]));
    await waitFor(() => errors.some((e) => e.includes('flags.0.enabled')), 'bad edit logged');
    expect(x.flags.get('a', 0)).toBe(2);
    writeFileSync(file, '{ not json');
    await waitFor(() => errors.length >= 2, 'unparsable edit logged');
    expect(x.flags.get('a', 0)).toBe(2);
    expect((await put(server, 'b', { enabled: true, value: 'bee' })).status).toBe(200);
    await waitFor(() => x.flags.get('b', '') === 'bee', 'admin write pushed');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { flags: Array<{ key: string }> };
    expect(saved.flags.map((f) => f.key)).toEqual(['a', 'b']);
  });

  it('closes the file watcher when start-up fails after it (port in use)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flags-'));
    const file = join(dir, 'flags.json');
    writeFileSync(file, JSON.stringify([{ key: 'a', enabled: true }]));
    const taken = await startServer();
    const watchers = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    // Watchers of earlier tests' servers leave the list on libuv's next turn after their close.
    await new Promise((r) => setTimeout(r, 50));
    const before = watchers();
    await expect(startServer({ port: taken.port, flags: { file } })).rejects.toThrow(/EADDRINUSE/);
    // A closed handle leaves the list on libuv's next turn.
    await new Promise((r) => setTimeout(r, 50));
    expect(watchers()).toBe(before);
    // The check sees watchers at all: a server that started holds one more.
    await startServer({ flags: { file } });
    expect(watchers()).toBe(before + 1);
  });

  it('refuses to start on a bad flags file, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flags-'));
    const file = join(dir, 'flags.json');
    writeFileSync(file, JSON.stringify({ flags: [{ key: 'a', enabled: true, rules: [{ percentage: 200, value: 1 }] }] }));
    await expect(startServer({ flags: { file } })).rejects.toThrow(/flags\.0\.rules\.0\.percentage/);
  });
});
