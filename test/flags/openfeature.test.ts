import { ErrorCode, OpenFeature, ProviderEvents, ProviderStatus, StandardResolutionReasons } from '@openfeature/web-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { createFlags } from '../../src/flags/index';
import { RealtimeFlagsProvider } from '../../src/flags/openfeature';
import { memoryStorage } from '../../src/index';
import type { FlagInput } from '../../server/src/index';
import { startProxy } from '../support/proxy';
import { API_KEY, cleanup, client, onCleanup, startServer, waitFor, signToken, type TestServer } from '../support/harness';

afterEach(async () => {
  await OpenFeature.clearProviders();
  await cleanup();
});

const put = (server: TestServer, key: string, body: unknown) =>
  fetch(`${server.httpUrl}/api/flags/${key}`, { method: 'PUT', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const del = (server: TestServer, key: string) => fetch(`${server.httpUrl}/api/flags/${key}`, { method: 'DELETE', headers: { authorization: `Bearer ${API_KEY}` } });

const definitions: FlagInput[] = [
  { key: 'checkout', enabled: true, value: false, rules: [{ if: { role: 'admin' }, value: true }] },
  { key: 'theme', enabled: true, value: 'light' },
  { key: 'limit', enabled: true, value: 3 },
  { key: 'layout', enabled: true, value: { cols: 2 } },
  { key: 'color', enabled: true, variants: [{ name: 'all-blue', value: 'blue', weight: 100 }] },
];

let domains = 0;
/** A real server, a real client with flags, and an OpenFeature client bound to our provider in a fresh domain. */
async function setup(opts: { connect?: boolean; readyTimeout?: number; storage?: ReturnType<typeof memoryStorage>; viaProxy?: boolean } = {}) {
  const server = await startServer({ flags: { definitions } });
  let url = server.url;
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
  if (opts.viaProxy) {
    proxy = await startProxy(server.port);
    onCleanup(() => proxy!.close());
    url = proxy.url('/ws');
  }
  const c = client({ url, app: 'shop', token: await signToken('u1') });
  const flags = createFlags(c, opts.storage ? { storage: opts.storage } : {});
  onCleanup(() => flags.close());
  const provider = new RealtimeFlagsProvider(flags, { client: c, ...(opts.readyTimeout !== undefined ? { readyTimeout: opts.readyTimeout } : {}) });
  const domain = `test-${++domains}`;
  const of = OpenFeature.getClient(domain);
  const events: Array<{ type: string; flagsChanged?: string[] }> = [];
  for (const type of [ProviderEvents.Ready, ProviderEvents.Error, ProviderEvents.Stale, ProviderEvents.ConfigurationChanged]) {
    of.addHandler(type, (d) => events.push({ type, ...(d?.flagsChanged ? { flagsChanged: d.flagsChanged as string[] } : {}) }));
  }
  if (opts.connect !== false) c.connect();
  return { server, c, flags, provider, domain, of, events, proxy };
}

describe('OpenFeature web provider (real @openfeature/web-sdk, real server and client)', () => {
  it('declares itself a client provider and checks its arguments', () => {
    const flags = createFlags(undefined, { url: 'http://127.0.0.1:9', interval: 60_000 });
    onCleanup(() => flags.close());
    const p = new RealtimeFlagsProvider(flags);
    expect(p.runsOn).toBe('client');
    expect(p.metadata.name).toBe('sdk-realtime');
    expect(() => new RealtimeFlagsProvider({} as never)).toThrow(TypeError);
    expect(() => new RealtimeFlagsProvider(flags, { readyTimeout: -1 })).toThrow(/readyTimeout/);
    expect(() => new RealtimeFlagsProvider(flags, { client: {} as never })).toThrow(/options\.client/);
  });

  it('emits READY once after the first snapshot and resolves with value, variant, reason and version', async () => {
    const { provider, domain, of, events } = await setup();
    await OpenFeature.setProviderAndWait(domain, provider);
    expect(of.providerStatus).toBe(ProviderStatus.READY);
    await waitFor(() => events.length > 0, 'ready event');
    expect(events).toEqual([{ type: ProviderEvents.Ready }]);

    const checkout = of.getBooleanDetails('checkout', true);
    expect(checkout).toMatchObject({ flagKey: 'checkout', value: false, reason: StandardResolutionReasons.DEFAULT });
    expect(checkout.errorCode).toBeUndefined();
    expect(checkout.flagMetadata.version).toEqual(expect.any(Number));
    expect(of.getStringDetails('theme', 'x')).toMatchObject({ value: 'light', reason: StandardResolutionReasons.STATIC });
    expect(of.getStringDetails('color', 'x')).toMatchObject({ value: 'blue', variant: 'all-blue', reason: 'SPLIT' });
    expect(of.getNumberValue('limit', 0)).toBe(3);
    expect(of.getObjectValue('layout', {})).toEqual({ cols: 2 });
  });

  it('answers a type mismatch with the default and TYPE_MISMATCH, an unknown flag with FLAG_NOT_FOUND', async () => {
    const { provider, domain, of } = await setup();
    await OpenFeature.setProviderAndWait(domain, provider);
    expect(of.getBooleanDetails('theme', true)).toMatchObject({ value: true, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(of.getNumberDetails('layout', 7)).toMatchObject({ value: 7, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(of.getObjectDetails('theme', { a: 1 })).toMatchObject({ value: { a: 1 }, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(of.getBooleanDetails('nope', true)).toMatchObject({ value: true, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND });
    // `constructor` is a flag name like any other, not Object.prototype's.
    expect(of.getObjectDetails('constructor', {})).toMatchObject({ errorCode: ErrorCode.FLAG_NOT_FOUND });
  });

  it('emits CONFIGURATION_CHANGED with exactly the keys whose values changed for this user after PUT /api/flags/:key', async () => {
    const { server, provider, domain, of, events } = await setup();
    await OpenFeature.setProviderAndWait(domain, provider);
    await waitFor(() => events.length === 1, 'ready');
    events.length = 0;
    // Changes only admins' result: this user gets no patch, so no event.
    expect((await put(server, 'checkout', { enabled: true, value: false, rules: [{ if: { role: 'admin' }, value: 'admins-only' }] })).status).toBe(200);
    // Changes this user's: patches on one connection are in order, so an event for checkout would come first.
    expect((await put(server, 'theme', { enabled: true, value: 'dark' })).status).toBe(200);
    await waitFor(() => events.length > 0, 'configuration changed');
    expect(events).toEqual([{ type: ProviderEvents.ConfigurationChanged, flagsChanged: ['theme'] }]);
    expect(of.getStringValue('theme', 'x')).toBe('dark');
    // A delete is a change too, after which the flag is not found.
    expect((await del(server, 'theme')).status).toBe(200);
    await waitFor(() => events.length === 2, 'configuration changed by the delete');
    expect(events[1]).toEqual({ type: ProviderEvents.ConfigurationChanged, flagsChanged: ['theme'] });
    expect(of.getStringDetails('theme', 'x')).toMatchObject({ value: 'x', errorCode: ErrorCode.FLAG_NOT_FOUND });
  });

  it('is not ready before the first snapshot (PROVIDER_NOT_READY), errors after readyTimeout, then becomes READY', async () => {
    const { c, provider, domain, of, events } = await setup({ connect: false, readyTimeout: 150 });
    expect(provider.resolveBooleanEvaluation('checkout', true)).toMatchObject({ value: true, errorCode: ErrorCode.PROVIDER_NOT_READY });
    await expect(OpenFeature.setProviderAndWait(domain, provider)).rejects.toThrow(/not ready after 150 ms/);
    await waitFor(() => events.some((e) => e.type === ProviderEvents.Error), 'error event');
    expect(of.providerStatus).toBe(ProviderStatus.ERROR);
    expect(of.getBooleanDetails('checkout', true)).toMatchObject({ value: true, errorCode: ErrorCode.PROVIDER_NOT_READY });
    c.connect();
    await waitFor(() => events.some((e) => e.type === ProviderEvents.Ready), 'ready after the late snapshot');
    expect(of.providerStatus).toBe(ProviderStatus.READY);
    expect(of.getBooleanDetails('checkout', true)).toMatchObject({ value: false, reason: 'DEFAULT' });
    expect(events.map((e) => e.type)).toEqual([ProviderEvents.Error, ProviderEvents.Ready]);
  });

  it('is ready from storage with reason CACHED, then serves the server\'s result', async () => {
    const storage = memoryStorage();
    await storage.set('sdk-realtime:flags', JSON.stringify({ theme: 'stored' }));
    const { c, flags, provider, domain, of, events } = await setup({ connect: false, storage });
    await OpenFeature.setProviderAndWait(domain, provider);
    expect(of.getStringDetails('theme', 'x')).toMatchObject({ value: 'stored', reason: StandardResolutionReasons.CACHED });
    c.connect();
    await waitFor(() => flags.get('theme', '') === 'light', 'snapshot');
    expect(of.getStringDetails('theme', 'x')).toMatchObject({ value: 'light', reason: StandardResolutionReasons.STATIC });
    // The snapshot's new keys and the changed one, in one event; never a second READY.
    const changed = events.filter((e) => e.type === ProviderEvents.ConfigurationChanged);
    expect(changed).toHaveLength(1);
    expect(changed[0]!.flagsChanged!.sort()).toEqual(['checkout', 'color', 'layout', 'limit', 'theme']);
    expect(events.filter((e) => e.type === ProviderEvents.Ready)).toHaveLength(1);
  });

  it('goes STALE when the connection drops, keeps serving the cache, and is READY again with the fresh snapshot', async () => {
    const { server, c, provider, domain, of, events, proxy } = await setup({ viaProxy: true });
    await OpenFeature.setProviderAndWait(domain, provider);
    await waitFor(() => events.length === 1, 'ready');
    events.length = 0;
    proxy!.refuse();
    proxy!.drop();
    await waitFor(() => events.some((e) => e.type === ProviderEvents.Stale), 'stale event');
    expect(of.providerStatus).toBe(ProviderStatus.STALE);
    expect(c.state).toBe('reconnecting');
    expect(of.getStringValue('theme', 'x')).toBe('light');
    expect((await put(server, 'theme', { enabled: true, value: 'changed-while-away' })).status).toBe(200);
    proxy!.accept();
    await waitFor(() => events.some((e) => e.type === ProviderEvents.Ready), 'ready after reconnect', 10_000);
    expect(of.providerStatus).toBe(ProviderStatus.READY);
    expect(of.getStringValue('theme', 'x')).toBe('changed-while-away');
    expect(events).toEqual([
      { type: ProviderEvents.Stale },
      { type: ProviderEvents.ConfigurationChanged, flagsChanged: ['theme'] },
      { type: ProviderEvents.Ready },
    ]);
  });

  it('stops emitting after onClose (provider replaced)', async () => {
    const { server, flags, provider, domain, events } = await setup();
    await OpenFeature.setProviderAndWait(domain, provider);
    await waitFor(() => events.length === 1, 'ready');
    let emitted = 0;
    provider.events.addHandler(ProviderEvents.ConfigurationChanged, () => emitted++);
    await OpenFeature.clearProviders();
    expect((await put(server, 'theme', { enabled: true, value: 'after-close' })).status).toBe(200);
    await waitFor(() => flags.get('theme', '') === 'after-close', 'patch reached the store');
    expect(emitted).toBe(0);
  });
});
