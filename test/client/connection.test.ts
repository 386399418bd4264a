import { afterEach, describe, expect, it, vi } from 'vitest';
import { tick } from './fake-transport';
import { setup } from './setup';

afterEach(() => {
  vi.useRealTimers();
});

describe('connection state machine', () => {
  it('does nothing before connect() (lazy)', async () => {
    const { client, fake, advance } = setup();
    client.subscribe('a', () => {});
    void client.publish('a', 1).catch(() => {});
    await advance(60_000);
    expect(fake.links).toHaveLength(0);
    expect(client.state).toBe('idle');
    client.close();
  });

  it('goes idle → connecting → connected, emitting state and connected events', async () => {
    const { client, fake, events, states, connect } = setup();
    const snapshots = [client.getSnapshot()];
    client.subscribeState(() => snapshots.push(client.getSnapshot()));
    await connect();
    expect(states()).toEqual(['connecting', 'connected']);
    expect(events.state![0]).toEqual({ state: 'connecting', prev: 'idle' });
    expect(events.connected).toEqual([{ client: 'c1', user: 'u1', device: null, reconnected: false }]);
    expect(fake.link.sent[0]).toEqual({ t: 'connect', id: 1, v: 1, app: 'shop', token: 't0' });
    expect(snapshots.map((s) => s.state)).toEqual(['idle', 'connecting', 'connected']);
    expect(client.getSnapshot()).toBe(client.getSnapshot()); // stable between changes
  });

  it('connect() is idempotent: one link however many calls', async () => {
    const { client, fake, connect } = setup();
    client.connect();
    client.connect();
    await connect();
    client.connect();
    await tick();
    expect(fake.links).toHaveLength(1);
  });

  it('close() is idempotent, ends in closed and closes the link', async () => {
    const { client, fake, states, events, connect } = setup();
    await connect();
    client.close();
    client.close();
    expect(client.state).toBe('closed');
    expect(states()).toEqual(['connecting', 'connected', 'closed']);
    expect(fake.link.closedByClient).toBeDefined();
    expect(events.disconnected).toEqual([{ code: 1000, reason: 'client closed', willReconnect: false }]);
  });

  it('connect() after close() starts again', async () => {
    const { client, fake, connect } = setup();
    await connect();
    client.close();
    client.connect();
    await connect();
    expect(client.state).toBe('connected');
    expect(fake.links).toHaveLength(2);
  });

  it('reconnects after a lost link with a backoff delay and reports it in disconnected', async () => {
    const { client, fake, events, states, connect, advance } = setup();
    await connect();
    fake.link.end(1006, 'gone');
    await tick();
    expect(client.state).toBe('reconnecting');
    // attempt 1: [500, 1000], random 0.5 → 750
    expect(events.disconnected).toEqual([{ code: 1006, reason: 'gone', willReconnect: true, delay: 750 }]);
    await advance(749);
    expect(fake.links).toHaveLength(1);
    await advance(1);
    expect(fake.links).toHaveLength(2);
    await connect();
    expect(states()).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    expect((events.connected![1] as { reconnected: boolean }).reconnected).toBe(true);
  });

  it('grows the backoff per failed attempt and resets it after the link stayed up for stableAfter', async () => {
    const { fake, events, connect, advance } = setup({ reconnect: { stableAfter: 5_000 } });
    await connect();
    const delays = () => (events.disconnected as { delay: number }[]).map((d) => d.delay);
    fake.link.end();
    await advance(750);
    fake.link.end(); // attempt 2 fails: [500, 2000] → 1250
    await advance(1250);
    fake.link.open();
    fake.link.accept();
    await advance(4_000); // up, but not stable yet
    fake.link.end(); // attempt 3: [500, 4000] → 2250
    await advance(2250);
    await connect();
    await advance(5_000); // stable: counter reset
    fake.link.end(); // attempt 1 again → 750
    await tick();
    expect(delays()).toEqual([750, 1250, 2250, 750]);
  });

  it('gives up after maxAttempts failed attempts and ends in closed', async () => {
    const { client, fake, connect, advance } = setup({ reconnect: { maxAttempts: 2 } });
    await connect();
    fake.link.end();
    await advance(10_000);
    fake.link.end();
    await advance(10_000);
    fake.link.end();
    await tick();
    expect(client.state).toBe('closed');
    expect(client.getSnapshot().reason).toBe('reconnect attempts exhausted');
    expect(fake.links).toHaveLength(3);
  });

  it('with reconnect: false a lost link ends in closed', async () => {
    const { client, fake, connect } = setup({ reconnect: false });
    await connect();
    fake.link.end(1006, 'gone');
    await tick();
    expect(client.state).toBe('closed');
  });

  it('retries at once when the environment reports online or visible', async () => {
    const { fake, environment, connect } = setup({ reconnect: { floor: 10_000, ceiling: 60_000 } });
    await connect();
    fake.link.end();
    await tick();
    expect(fake.links).toHaveLength(1);
    environment.goOnline();
    await tick();
    expect(fake.links).toHaveLength(2);
    fake.link.end();
    await tick();
    environment.becomeVisible();
    await tick();
    expect(fake.links).toHaveLength(3);
  });

  it('fails an attempt whose connect reply does not come within connectTimeout', async () => {
    const { client, fake, errors, advance } = setup({ connectTimeout: 2_000 });
    client.connect();
    await tick();
    fake.link.open();
    await advance(1_999);
    expect(client.state).toBe('connecting');
    await advance(1);
    expect(client.state).toBe('reconnecting');
    expect(errors()).toContain('timeout');
    expect(fake.link.closedByClient).toBeDefined();
  });
  it('bounds the connect request by connectTimeout alone, not requestTimeout', async () => {
    const { client, fake, errors, advance } = setup({ connectTimeout: 2_000, requestTimeout: 100 });
    client.connect();
    await tick();
    fake.link.open();
    await advance(1_000);
    // Ten request timeouts later the handshake is still owed its answer.
    expect(client.state).toBe('connecting');
    expect(errors()).toEqual([]);
    await advance(1_000);
    expect(client.state).toBe('reconnecting');
    expect(errors()).toEqual(['timeout']);
  });
});

describe('heartbeat', () => {
  it('answers the server ping with pong', async () => {
    const { fake, connect } = setup();
    await connect();
    fake.link.push({ t: 'ping' });
    expect(fake.link.last('pong')).toEqual({ t: 'pong' });
  });

  it('detects a half-open link after ping + timeout of silence and reconnects', async () => {
    const { client, fake, events, advance, connect } = setup({ heartbeat: { timeout: 1_000 } });
    await connect({ ping: 2_000 });
    await advance(2_500);
    fake.link.push({ t: 'ping' }); // any frame resets the window
    await advance(2_999);
    expect(client.state).toBe('connected'); // never before ping + timeout
    await advance(3_000 / 8 + 1);
    expect(client.state).toBe('reconnecting'); // at most one tick (window / 8) after
    expect(fake.links[0]!.closedByClient).toBeDefined();
    expect(events.disconnected![0]).toMatchObject({ reason: 'heartbeat timeout', willReconnect: true });
  });

  it('on becoming visible, a link silent for longer than the window is taken as dead at once', async () => {
    const { client, environment, connect } = setup({ heartbeat: { timeout: 1_000 } });
    await connect({ ping: 2_000 });
    // Timers frozen in the background: the clock moves, no tick runs.
    vi.setSystemTime(Date.now() + 60_000);
    await vi.advanceTimersByTimeAsync(400); // one late tick
    environment.becomeVisible();
    await tick();
    expect(client.state).toBe('reconnecting');
  });

  it('on becoming visible, judges a link that missed several ticks by the time since its last frame', async () => {
    const { client, environment, advance, connect } = setup({ heartbeat: { timeout: 1_000 } });
    await connect({ ping: 2_000 }); // window 3 s, ticks of 375 ms
    await advance(800); // two ticks without a frame
    environment.becomeVisible();
    await tick();
    expect(client.state).toBe('connected');
    // Frozen timers: 2.5 s pass with no tick; 3.3 s since the link was heard is under window + tick (3.375 s).
    vi.setSystemTime(Date.now() + 2_500);
    environment.becomeVisible();
    await tick();
    expect(client.state).toBe('connected');
    // One late tick: idle for 3 ticks, silent since before the first (3.7 s ago, over window + tick);
    // counted from the second tick it would be 3.325 s, not dead.
    await advance(400);
    environment.becomeVisible();
    await tick();
    expect(client.state).toBe('reconnecting');
  });

  it('an Infinity timeout never fires (clamped, no timer spin)', async () => {
    const { client, advance, connect } = setup({ heartbeat: { timeout: Infinity }, connectTimeout: Infinity });
    await connect({ ping: 2_000 });
    await advance(10 * 60_000);
    expect(client.state).toBe('connected');
  });

  it('does not time out while frames keep arriving', async () => {
    const { client, fake, advance, connect } = setup({ heartbeat: { timeout: 1_000 } });
    await connect({ ping: 2_000 });
    for (let i = 0; i < 10; i++) {
      await advance(1_500);
      fake.link.push({ t: 'pong' });
    }
    expect(client.state).toBe('connected');
  });
});

describe('close codes and server close frames', () => {
  it.each([1000, 1001, 1006, 1009, 4000, 4001, 4002, 4003, 4004, 4050])('retries after close code %i', async (code) => {
    const { client, fake, connect } = setup();
    await connect();
    fake.link.end(code, 'x');
    await tick();
    expect(client.state).toBe('reconnecting');
  });

  it.each([4101, 4102, 4150])('ends in closed with the reason after terminal code %i', async (code) => {
    const { client, fake, connect } = setup();
    await connect();
    fake.link.end(code, 'nope');
    await tick();
    expect(client.state).toBe('closed');
    expect(client.getSnapshot().reason).toBe('nope');
  });

  it('4100 with a fixed token is terminal', async () => {
    const { client, fake } = setup({ token: 'fixed' });
    client.connect();
    await tick();
    fake.link.open();
    fake.link.end(4100, 'bad token');
    await tick();
    expect(client.state).toBe('closed');
  });

  it('4100 with a token function retries once at once with a fresh token, a second 4100 in a row is terminal', async () => {
    let n = 0;
    const token = vi.fn(() => `tok${++n}`);
    const { client, fake, advance } = setup({ token });
    client.connect();
    await tick();
    fake.link.open();
    expect(fake.link.last('connect').token).toBe('tok1');
    fake.link.end(4100, 'bad token');
    await tick();
    expect(client.state).toBe('reconnecting');
    await advance(0);
    expect(fake.links).toHaveLength(2); // no backoff wait
    fake.link.open();
    expect(fake.link.last('connect').token).toBe('tok2');
    fake.link.end(4100, 'bad token');
    await tick();
    expect(client.state).toBe('closed');
  });

  it('a refused connect reply is handled like its close code (unauthorized as 4100)', async () => {
    const { client, fake, errors } = setup({ token: 'fixed' });
    client.connect();
    await tick();
    fake.link.open();
    fake.link.fail(1, 'unauthorized', 'token expired');
    await tick();
    expect(errors()).toEqual(['unauthorized']);
    expect(client.state).toBe('closed');
    expect(client.getSnapshot().reason).toBe('token expired');
  });

  it('a close frame with reconnect: false is terminal whatever the code', async () => {
    const { client, fake, connect } = setup();
    await connect();
    fake.link.push({ t: 'close', code: 4004, reason: 'banned', reconnect: false });
    await tick();
    expect(client.state).toBe('closed');
    expect(client.getSnapshot().reason).toBe('banned');
  });

  it('honours retryAfter of a close frame as the minimum wait, even against online events', async () => {
    const { fake, events, environment, connect, advance } = setup();
    await connect();
    fake.link.push({ t: 'close', code: 4002, reason: 'slow down', reconnect: true, retryAfter: 5_000 });
    await tick();
    expect((events.disconnected![0] as { delay: number }).delay).toBe(5_000);
    environment.goOnline();
    await tick();
    expect(fake.links).toHaveLength(1);
    await advance(5_000);
    expect(fake.links).toHaveLength(2);
  });
});

describe('auth', () => {
  it('calls the token function on every connect', async () => {
    const token = vi.fn(async () => 'fresh');
    const { fake, connect, advance } = setup({ token });
    await connect();
    fake.link.end();
    await advance(1_000);
    await connect();
    expect(token).toHaveBeenCalledTimes(2);
    expect(fake.link.last('connect').token).toBe('fresh');
  });

  it('on expired, calls the token function again and sends refresh, keeping the link', async () => {
    let n = 0;
    const { client, fake, connect } = setup({ token: async () => `tok${++n}` });
    client.subscribe('a', () => {});
    await connect();
    fake.link.push({ t: 'expired', grace: 10_000 });
    await tick();
    const refresh = fake.link.last('refresh');
    expect(refresh.token).toBe('tok2');
    fake.link.reply(refresh.id, {});
    await tick();
    expect(client.state).toBe('connected');
    expect(fake.links).toHaveLength(1);
  });

  it('reports token_expired when the token is a fixed string and cannot be refreshed', async () => {
    const { fake, errors, connect } = setup({ token: 'fixed' });
    await connect();
    fake.link.push({ t: 'expired', grace: 10_000 });
    await tick();
    expect(errors()).toEqual(['token_expired']);
    expect(fake.link.frames('refresh')).toHaveLength(0);
  });

  it('a throwing token function is reported and retried with backoff, never thrown', async () => {
    let fail = true;
    const { client, fake, errors, advance } = setup({
      token: () => {
        if (fail) throw new Error('auth server down');
        return 'ok';
      },
    });
    client.connect();
    await tick();
    expect(errors()).toEqual(['unauthorized']);
    expect(client.state).toBe('reconnecting');
    expect(fake.links).toHaveLength(0);
    fail = false;
    await advance(1_000);
    expect(fake.links).toHaveLength(1);
  });
});
