import { afterEach, describe, expect, it } from 'vitest';
import { vi } from 'vitest';
import { tick } from './fake-transport';
import { setup } from './setup';

afterEach(() => {
  vi.useRealTimers();
});

describe('pause and resume', () => {
  it('keeps the live link, makes no attempt after it drops, and spends no reconnect attempts while paused', async () => {
    const { client, fake, connect, advance, states } = setup({ reconnect: { floor: 50, ceiling: 100, maxAttempts: 2 } });
    await connect();
    client.pause();
    expect(client.state).toBe('connected'); // the link that is up stays up
    fake.link.end(1006, 'gone');
    await advance(60_000);
    expect(fake.links).toHaveLength(1);
    expect(client.state).toBe('reconnecting');
    expect(client.getSnapshot().reason).toBe('paused');
    // Far more time than maxAttempts × ceiling: nothing was attempted, nothing exhausted.
    client.resume();
    await advance(0);
    expect(fake.links).toHaveLength(2);
    fake.link.open();
    fake.link.accept();
    await tick();
    expect(client.state).toBe('connected');
    expect(states()).not.toContain('closed');
  });

  it('a retry already waiting is held at pause() and made at resume()', async () => {
    const { client, fake, connect, advance } = setup({ reconnect: { floor: 1000, ceiling: 1000 } });
    await connect();
    fake.link.end(1006, 'gone');
    await tick();
    expect(client.state).toBe('reconnecting');
    client.pause();
    await advance(5000);
    expect(fake.links).toHaveLength(1);
    client.resume();
    client.resume(); // idempotent: one attempt
    await advance(0);
    expect(fake.links).toHaveLength(2);
  });

  it('connect() while paused waits for resume(); resume() with nothing owed does nothing', async () => {
    const { client, fake, advance } = setup();
    client.resume();
    client.pause();
    client.connect();
    client.connect();
    await advance(1000);
    expect(fake.links).toHaveLength(0);
    expect(client.getSnapshot()).toEqual({ state: 'connecting', reason: 'paused' });
    client.resume();
    await advance(0);
    expect(fake.links).toHaveLength(1);
  });

  it('close() while paused closes, and a later connect() is not paused', async () => {
    const { client, fake, connect, advance } = setup();
    await connect();
    client.pause();
    fake.link.end(1006, 'gone');
    await tick();
    client.close();
    expect(client.state).toBe('closed');
    client.connect();
    await advance(0);
    expect(fake.links).toHaveLength(2);
  });

  it('does not resume before the retryAfter the server asked for', async () => {
    const { client, fake, connect, advance } = setup();
    await connect();
    client.pause();
    fake.link.push({ t: 'close', code: 1013, reason: 'busy', reconnect: true, retryAfter: 3000 });
    await tick();
    client.resume();
    await advance(2900);
    expect(fake.links).toHaveLength(1);
    await advance(200);
    expect(fake.links).toHaveLength(2);
  });
});
