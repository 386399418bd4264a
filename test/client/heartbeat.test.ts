import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../../src/client/client';
import type { Timers } from '../../src/util/timers';
import { fakeTransport, tick } from './fake-transport';
import { fakeEnvironment } from './setup';

afterEach(() => {
  vi.useRealTimers();
});

/** Fake-time timers that count what is armed, so a test can see how many timers clients hold. */
function countingTimers() {
  const armed = new Set<ReturnType<typeof setTimeout>>();
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      const h = setTimeout(() => {
        armed.delete(h);
        fn();
      }, ms);
      armed.add(h);
      return h;
    },
    clearTimeout: (h) => {
      armed.delete(h as ReturnType<typeof setTimeout>);
      clearTimeout(h as ReturnType<typeof setTimeout>);
    },
    now: () => Date.now(),
  };
  return { timers, armed };
}

describe('one heartbeat scan for every client', () => {
  it('idle connected clients on one clock hold one timer between them, and each link is judged on its own', async () => {
    vi.useFakeTimers();
    const { timers, armed } = countingTimers();
    const fake = fakeTransport();
    const env = fakeEnvironment().env;
    const clients = Array.from({ length: 50 }, () =>
      createClient({ url: 'ws://test/ws', app: 'shop', transport: fake.transport, environment: env, timers, heartbeat: { timeout: 1_000 } }),
    );
    for (const c of clients) c.connect();
    await tick();
    for (const l of fake.links) {
      l.open();
      l.accept({ ping: 2_000 }); // window 3 s, ticks of 375 ms
    }
    await tick();
    expect(clients.every((c) => c.state === 'connected')).toBe(true);
    // Every connect timeout was cleared, the `connect` requests armed no deadline timer (the
    // connect timeout bounds them), and one heartbeat timer serves all 50 (was one each, plus a
    // stability timer each).
    expect(armed.size).toBe(1);

    // Client 0 keeps hearing from its server; the others are silent.
    const live = fake.links[0]!;
    for (let t = 0; t < 3_000; t += 1_000) {
      await vi.advanceTimersByTimeAsync(1_000);
      live.push({ t: 'ping' });
    }
    await vi.advanceTimersByTimeAsync(3_000 / 8 + 1);
    await tick();
    expect(clients[0]!.state).toBe('connected');
    expect(clients.slice(1).every((c) => c.state === 'reconnecting')).toBe(true);
    for (const c of clients) c.close();
    expect(armed.size).toBe(0); // the last client leaving stops the scan
  });
});
