import { vi } from 'vitest';
import { createClient } from '../../src/client/client';
import type { ClientOptions } from '../../src/client/options';
import type { Environment } from '../../src/util/environment';
import type { Timers } from '../../src/util/timers';
import { fakeTransport, tick } from './fake-transport';

/** An environment the test fires by hand. */
export function fakeEnvironment() {
  const online = new Set<() => void>();
  const visible = new Set<() => void>();
  const hidden = new Set<() => void>();
  const env: Environment = {
    onOnline: (fn) => (online.add(fn), () => online.delete(fn)),
    onVisible: (fn) => (visible.add(fn), () => visible.delete(fn)),
    onHidden: (fn) => (hidden.add(fn), () => hidden.delete(fn)),
  };
  return {
    env,
    goOnline: () => online.forEach((f) => f()),
    becomeVisible: () => visible.forEach((f) => f()),
    becomeHidden: () => hidden.forEach((f) => f()),
  };
}

/** The host's timers (fake when the test made them so), as an object of its own. */
const ownClock = (): Timers => ({
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
});

/** A client on a fake transport and fake environment, with deterministic jitter (random = 0.5). */
export function setup(options: Partial<ClientOptions> = {}) {
  vi.useFakeTimers();
  const fake = fakeTransport();
  const environment = fakeEnvironment();
  const client = createClient({
    url: 'ws://test/ws',
    app: 'shop',
    token: 't0',
    transport: fake.transport,
    environment: environment.env,
    random: () => 0.5,
    // A clock of its own: heartbeat groups are per clock, so a client a test left connected
    // (its group's timer armed on an earlier test's fake clock) never shares a group with this one.
    timers: ownClock(),
    ...options,
  });
  const events: Record<string, unknown[]> = {};
  for (const e of ['state', 'connected', 'disconnected', 'message', 'subscribed', 'gap', 'error'] as const) {
    events[e] = [];
    client.on(e, (v: unknown) => events[e]!.push(v));
  }
  const states = () => (events.state as { state: string }[]).map((s) => s.state);
  const errors = () => (events.error as { code: string }[]).map((e) => e.code);
  /** connect() (if idle), open the newest link and accept `connect`. */
  const connect = async (result = {}) => {
    if (client.state === 'idle') client.connect();
    await tick();
    fake.link.open();
    fake.link.accept(result);
    await tick();
  };
  /** Advance fake time and let promises settle. */
  const advance = async (ms: number) => {
    await vi.advanceTimersByTimeAsync(ms);
    await tick();
  };
  return { client, fake, environment, events, states, errors, connect, advance };
}
