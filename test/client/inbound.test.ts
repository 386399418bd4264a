import { afterEach, describe, expect, it, vi } from 'vitest';
import { msg } from './fake-transport';
import { setup } from './setup';

afterEach(() => {
  vi.useRealTimers();
});

describe('inbound validation', () => {
  it('reports malformed, unknown, invalid and binary frames as error events, drops them and keeps going', async () => {
    const { client, fake, errors, connect } = setup();
    const got: unknown[] = [];
    client.subscribe('t', (m) => got.push(m.data));
    await connect();
    fake.link.subscribed('t');
    expect(() => {
      fake.link.push('{"t":"msg", oops');
      fake.link.push({ t: 'wormhole' });
      fake.link.push({ t: 'msg', topic: 't', id: 'x' });
      fake.link.push('[1,2]');
    }).not.toThrow();
    (fake.link as unknown as { handlers: { onMessage(d: ArrayBuffer): void } }).handlers.onMessage(new ArrayBuffer(4));
    fake.link.push(msg('t', 1, 'good'));
    expect(got).toEqual(['good']);
    expect(errors()).toEqual(['bad_frame', 'unknown_type', 'bad_frame', 'bad_frame', 'bad_frame']);
    expect(client.state).toBe('connected');
  });

  it('drops a frame over maxInboundFrame with too_large', async () => {
    const { fake, errors, connect } = setup({ maxInboundFrame: 2048 });
    await connect();
    fake.link.push({ t: 'error', error: { code: 'internal', message: 'x'.repeat(3000) } });
    expect(errors()).toEqual(['too_large']);
  });

  it('reports a server error frame with its code', async () => {
    const { fake, errors, connect } = setup();
    await connect();
    fake.link.push({ t: 'error', error: { code: 'rate_limited', message: 'slow down', retryAfter: 100 } });
    expect(errors()).toEqual(['rate_limited']);
  });

  it('reports a malformed sub reply instead of throwing', async () => {
    const { client, fake, errors, connect } = setup();
    client.subscribe('t', () => {});
    await connect();
    expect(() => fake.link.reply(fake.link.last('sub').id, null)).not.toThrow();
    expect(errors()).toEqual(['bad_frame']);
  });
});
