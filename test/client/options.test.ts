import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client';
import type { ClientOptions } from '../../src/client/options';
import { resolveOptions } from '../../src/client/options';

const base = { url: 'wss://rt.example.com/ws', app: 'shop' };
const make = (extra: Record<string, unknown>) => () => createClient({ ...base, ...extra } as ClientOptions);

describe('option validation', () => {
  it.each([
    ['url', { url: 'http://x' }],
    ['url', { url: 42 }],
    ['url', { url: undefined }],
    ['app', { app: '' }],
    ['token', { token: 5 }],
    ['deviceId', { deviceId: '' }],
    ['transport', { transport: 'ws' }],
    ['reconnect', { reconnect: true }],
    ['reconnect.floor', { reconnect: { floor: -1 } }],
    ['reconnect.ceiling', { reconnect: { floor: 1000, ceiling: 500 } }],
    ['reconnect.maxAttempts', { reconnect: { maxAttempts: NaN } }],
    ['reconnect.stableAfter', { reconnect: { stableAfter: '5s' } }],
    ['heartbeat', { heartbeat: 10 }],
    ['heartbeat.timeout', { heartbeat: { timeout: -5 } }],
    ['connectTimeout', { connectTimeout: 0 }],
    ['requestTimeout', { requestTimeout: 0 }],
    ['outbox', { outbox: 3 }],
    ['outbox.size', { outbox: { size: -1 } }],
    ['outbox.timeout', { outbox: { timeout: 0 } }],
    ['storage', { storage: 'local' }],
    ['maxInboundFrame', { maxInboundFrame: 10 }],
    ['environment', { environment: null }],
    ['timers', { timers: 1 }],
    ['random', { random: 0.5 }],
  ])('throws a TypeError naming option "%s"', (name, extra) => {
    expect(make(extra)).toThrow(TypeError);
    expect(make(extra)).toThrow(`sdk-realtime: option "${name}" must be`);
  });

  it('names the url rule in its message', () => {
    expect(make({ url: 'ftp://x' })).toThrow('sdk-realtime: option "url" must be a ws:// or wss:// URL');
  });

  it('throws when options are missing altogether', () => {
    expect(() => createClient(undefined as unknown as ClientOptions)).toThrow(TypeError);
  });

  it('applies the documented defaults', () => {
    const o = resolveOptions(base);
    expect(o).toMatchObject({
      reconnect_: { floor: 500, ceiling: 30_000, maxAttempts: Infinity, stableAfter: 5_000 },
      heartbeat_: 10_000,
      connectTimeout_: 10_000,
      requestTimeout_: 10_000,
      outboxSize_: 100,
      outboxTimeout_: 30_000,
      maxInboundFrame_: 16 * 1024 * 1024,
    });
    expect(typeof o.transport_).toBe('function');
  });

  it('accepts false for reconnect and heartbeat, and a token function', () => {
    const o = resolveOptions({ ...base, reconnect: false, heartbeat: false, token: () => 'x' });
    expect(o.reconnect_).toBe(false);
    expect(o.heartbeat_).toBe(false);
  });

  it('createClient does not connect or touch the transport', () => {
    let opened = 0;
    createClient({ ...base, transport: () => (opened++, { send() {}, close() {} }) });
    expect(opened).toBe(0);
  });
});
