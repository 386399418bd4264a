// @vitest-environment jsdom
import { act, cleanup as unmountAll, render, screen, waitFor as rtlWaitFor } from '@testing-library/react';
import { StrictMode, useState, type ReactNode } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Publication, RealtimeClient } from '../../src/index';
import {
  RealtimeProvider,
  useConnectionState,
  useOnlineCount,
  useRealtime,
  useSubscription,
  type UseSubscriptionOptions,
} from '../../src/react/index';
import { msg, tick } from '../client/fake-transport';
import { cleanup, client as testClient, notify, signToken, startServer, waitFor } from '../support/harness';
import { fakeClient, realOptions } from './helpers';

afterEach(async () => {
  unmountAll();
  await cleanup();
});

function State() {
  return <span data-testid="state">{useConnectionState().state}</span>;
}

function Last({ topic, id = topic, ...opts }: { topic: string; id?: string } & UseSubscriptionOptions) {
  const m = useSubscription(topic, opts);
  return <span data-testid={id}>{m ? JSON.stringify(m.data) : 'none'}</span>;
}

function Count({ topic }: { topic: string }) {
  const n = useOnlineCount(topic);
  return <span data-testid={`count:${topic}`}>{n ? `${n.users}/${n.connections}` : 'none'}</span>;
}

const text = (id: string) => screen.getByTestId(id).textContent;

describe('RealtimeProvider', () => {
  it('creates the client from options, connects on mount and closes it on unmount', async () => {
    const server = await startServer();
    let created: RealtimeClient | undefined;
    function Grab() {
      created = useRealtime().client;
      return null;
    }
    const view = render(
      <RealtimeProvider options={realOptions(server.url, await signToken('u1'))}>
        <State />
        <Grab />
      </RealtimeProvider>,
    );
    await rtlWaitFor(() => expect(text('state')).toBe('connected'), { timeout: 5000 });
    expect(server.stats().connections).toBe(1);
    view.unmount();
    await waitFor(() => created!.state === 'closed', 'the provider closes the client it created');
    await waitFor(() => server.stats().connections === 0, 'server-side connection gone');
  });

  it('connects a client it was given and leaves it open on unmount', async () => {
    const { client, fake, connect } = fakeClient();
    const view = render(
      <RealtimeProvider client={client}>
        <State />
      </RealtimeProvider>,
    );
    expect(client.state).toBe('connecting');
    await act(connect);
    expect(text('state')).toBe('connected');
    view.unmount();
    await tick();
    expect(client.state).toBe('connected');
    expect(fake.links).toHaveLength(1);
  });

  it('opens exactly one connection under StrictMode and keeps it across the double mount', async () => {
    const server = await startServer();
    const states: string[] = [];
    let listening: RealtimeClient | undefined;
    function Recorder() {
      const c = useRealtime().client;
      // Rendering happens before the provider's effect connects: every transition is seen.
      if (listening !== c) c.on('state', (s) => states.push(s.state));
      listening = c;
      return null;
    }
    render(
      <StrictMode>
        <RealtimeProvider options={realOptions(server.url, await signToken('u1'))}>
          <State />
          <Recorder />
        </RealtimeProvider>
      </StrictMode>,
    );
    await rtlWaitFor(() => expect(text('state')).toBe('connected'), { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    expect(server.stats().connections).toBe(1);
    expect(states).toEqual(['connecting', 'connected']); // never closed and reopened
    expect(text('state')).toBe('connected');
  });

  it('throws a clear error when a hook is used outside the provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => render(<State />)).toThrow(/inside <RealtimeProvider>/);
  });
});

describe('useSubscription', () => {
  it('holds exactly one server subscription under StrictMode and releases every handler on unmount', async () => {
    const { client, fake, connect, frames } = fakeClient();
    await connect();
    const got: string[] = [];
    const view = render(
      <StrictMode>
        <RealtimeProvider client={client}>
          <Last topic="order:1" id="a" onMessage={(m) => got.push(`a${m.offset}`)} />
          <Last topic="order:1" id="b" onMessage={(m) => got.push(`b${m.offset}`)} />
          <Count topic="room:1" />
        </RealtimeProvider>
      </StrictMode>,
    );
    await act(tick);
    expect(frames('sub', 'order:1')).toHaveLength(1);
    expect(frames('unsub')).toHaveLength(0);
    expect(frames('watch', 'room:1')).toHaveLength(1);
    expect(frames('unwatch')).toHaveLength(0);

    act(() => {
      fake.link.subscribed('order:1');
      fake.link.push(msg('order:1', 1, { status: 'paid' }));
    });
    expect(got.sort()).toEqual(['a1', 'b1']); // each handler once, however many mounts StrictMode made
    expect(text('a')).toBe('{"status":"paid"}');
    expect(text('b')).toBe('{"status":"paid"}');

    view.unmount();
    await tick();
    expect(frames('unsub', 'order:1')).toHaveLength(1);
    expect(frames('unwatch', 'room:1')).toHaveLength(1);
    fake.link.push(msg('order:1', 2));
    expect(got).toHaveLength(2); // no handler left behind
  });

  it('keeps one subscription on the real server under StrictMode, none after unmount', async () => {
    const server = await startServer();
    const view = render(
      <StrictMode>
        <RealtimeProvider options={realOptions(server.url, await signToken('u1'))}>
          <State />
          <Last topic="order:7" />
          <Last topic="order:7" id="again" />
        </RealtimeProvider>
      </StrictMode>,
    );
    await rtlWaitFor(() => expect(text('state')).toBe('connected'), { timeout: 5000 });
    await waitFor(() => server.stats().subscriptions === 1, 'one server-side subscription');
    const res = await notify(server, { appId: 'shop', eventTopics: ['order:7'], data: 'shipped' });
    expect(res.body.delivered).toBe(1);
    await rtlWaitFor(() => expect(text('again')).toBe('"shipped"'));
    expect(server.stats().subscriptions).toBe(1);
    view.unmount();
    await waitFor(() => server.stats().connections === 0 && server.stats().subscriptions === 0, 'nothing left on the server');
  });

  it('re-renders only the components that asked for the topic of a message', async () => {
    const { client, fake, connect } = fakeClient();
    await connect();
    const renders: Record<string, number> = { a: 0, b: 0, plain: 0 };
    function Topic({ name }: { name: string }) {
      renders[name]!++;
      const m = useSubscription<number>(`t:${name}`);
      return <span data-testid={name}>{m?.data ?? 'none'}</span>;
    }
    function Plain() {
      renders.plain!++;
      return null;
    }
    render(
      <RealtimeProvider client={client}>
        <Topic name="a" />
        <Topic name="b" />
        <Plain />
      </RealtimeProvider>,
    );
    await act(tick);
    act(() => {
      fake.link.subscribed('t:a');
      fake.link.subscribed('t:b');
    });
    const before = { ...renders };
    act(() => fake.link.push(msg('t:a', 1, 42)));
    expect(text('a')).toBe('42');
    expect(renders.a).toBe(before.a! + 1);
    expect(renders.b).toBe(before.b);
    expect(renders.plain).toBe(before.plain);
  });

  it('calls the latest handler without resubscribing when the handler changes', async () => {
    const { client, fake, connect, frames } = fakeClient();
    await connect();
    const calls: string[] = [];
    function Sub({ tag }: { tag: string }) {
      useSubscription('news', (m: Publication) => calls.push(`${tag}:${m.offset}`));
      return null;
    }
    const view = render(
      <RealtimeProvider client={client}>
        <Sub tag="first" />
      </RealtimeProvider>,
    );
    await act(tick);
    act(() => fake.link.subscribed('news'));
    view.rerender(
      <RealtimeProvider client={client}>
        <Sub tag="second" />
      </RealtimeProvider>,
    );
    await act(tick);
    act(() => fake.link.push(msg('news', 1)));
    expect(calls).toEqual(['second:1']);
    expect(frames('sub', 'news')).toHaveLength(1);
    expect(frames('unsub')).toHaveLength(0);
  });

  it('holds nothing while enabled is false and subscribes when it turns true', async () => {
    const { client, connect, frames } = fakeClient();
    await connect();
    function Toggle() {
      const [on, setOn] = useState(false);
      const m = useSubscription('later', { enabled: on });
      return (
        <button data-testid="toggle" onClick={() => setOn(true)}>
          {m ? 'got' : 'none'}
        </button>
      );
    }
    render(
      <RealtimeProvider client={client}>
        <Toggle />
      </RealtimeProvider>,
    );
    await act(tick);
    expect(frames('sub')).toHaveLength(0);
    act(() => screen.getByTestId('toggle').click());
    await act(tick);
    expect(frames('sub', 'later')).toHaveLength(1);
  });

  it('moves the subscription when the topic changes', async () => {
    const { client, connect, frames } = fakeClient();
    await connect();
    const tree = (topic: string): ReactNode => (
      <RealtimeProvider client={client}>
        <Last topic={topic} id="x" />
      </RealtimeProvider>
    );
    const view = render(tree('order:1'));
    await act(tick);
    view.rerender(tree('order:2'));
    await act(tick);
    expect(frames('sub').map((f) => f.topic)).toEqual(['order:1', 'order:2']);
    expect(frames('unsub').map((f) => f.topic)).toEqual(['order:1']);
  });

  it('reports gaps and confirmations through onGap and onSubscribed', async () => {
    const { client, fake, connect } = fakeClient();
    await connect();
    const onGap = vi.fn();
    const onSubscribed = vi.fn();
    render(
      <RealtimeProvider client={client}>
        <Last topic="stock" onGap={onGap} onSubscribed={onSubscribed} />
      </RealtimeProvider>,
    );
    await act(tick);
    act(() => {
      fake.link.subscribed('stock');
      fake.link.push(msg('stock', 1));
      fake.link.push(msg('stock', 3));
    });
    expect(onSubscribed).toHaveBeenCalledWith({ topic: 'stock', recovered: true });
    expect(onGap).toHaveBeenCalledWith({ topic: 'stock', reason: 'offset_jump' });
    expect(text('stock')).toBe('3');
  });
});

describe('useOnlineCount and useRealtime against the real server', () => {
  it('shows the online count of a topic and publishes through useRealtime', async () => {
    const server = await startServer({ presenceInterval: 20, canPublish: () => true });
    const other = testClient({ url: server.url, app: 'shop', token: await signToken('u2') });
    other.subscribe('room:1', () => {});
    other.connect();
    let publish: ReturnType<typeof useRealtime>['publish'] | undefined;
    function Publisher() {
      publish = useRealtime().publish;
      return null;
    }
    render(
      <RealtimeProvider options={realOptions(server.url, await signToken('u1'))}>
        <Last topic="room:1" id="last" />
        <Count topic="room:1" />
        <Publisher />
      </RealtimeProvider>,
    );
    await rtlWaitFor(() => expect(text('count:room:1')).toBe('2/2'), { timeout: 5000 });
    await act(async () => {
      await publish!('room:1', { hello: 'world' });
    });
    await rtlWaitFor(() => expect(text('last')).toBe('{"hello":"world"}'));
    other.close();
    await rtlWaitFor(() => expect(text('count:room:1')).toBe('1/1'), { timeout: 5000 });
  });
});
