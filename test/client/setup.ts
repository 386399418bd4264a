import { vi } from 'vitest';
import { createClient } from '../../src/client/client';
import type { ClientOptions } from '../../src/client/options';
import type { Environment } from '../../src/util/environment';
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
