// @vitest-environment jsdom
import { cleanup as unmountAll, render, screen, waitFor as tlWaitFor } from '@testing-library/vue';
import { createPinia, defineStore } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h, nextTick, reactive, ref, type PropType } from 'vue';
import type { Publication } from '../../src/index';
import {
  createRealtime,
  useConnectionState,
  useOnlineCount,
  useRealtime,
  useSubscription,
  type UseSubscriptionOptions,
} from '../../src/vue/index';
import { msg, tick } from '../client/fake-transport';
import { cleanup, client as testClient, notify, signToken, startServer, waitFor } from '../support/harness';
import { fakeClient, realOptions } from '../react/helpers';

afterEach(async () => {
  unmountAll();
  await cleanup();
});

const State = defineComponent(() => {
  const s = useConnectionState();
  return () => h('span', { 'data-testid': 'state' }, s.value.state);
});

const Last = defineComponent({
  props: {
    topic: { type: String, required: true },
    id: String,
    opts: Object as PropType<UseSubscriptionOptions>,
  },
  setup(props) {
    const last = useSubscription(() => props.topic, props.opts);
    return () => h('span', { 'data-testid': props.id ?? props.topic }, last.value ? JSON.stringify(last.value.data) : 'none');
  },
});

const Count = defineComponent({
  props: { topic: { type: String, required: true } },
  setup(props) {
    const n = useOnlineCount(() => props.topic);
    return () => h('span', { 'data-testid': `count:${props.topic}` }, n.value ? `${n.value.users}/${n.value.connections}` : 'none');
  },
});

/** A root rendering `children` (render functions), with the plugin installed. */
const mount = (plugin: ReturnType<typeof createRealtime>, children: () => unknown[], extra: unknown[] = []) =>
  render(defineComponent(() => () => h('div', children() as never)), { global: { plugins: [plugin, ...(extra as never[])] } });

const text = (id: string) => screen.getByTestId(id).textContent;

describe('createRealtime plugin', () => {
  it('creates the client from options, connects on install and closes it when the app unmounts', async () => {
    const server = await startServer();
    const plugin = createRealtime({ options: realOptions(server.url, await signToken('u1')) });
    const view = mount(plugin, () => [h(State)]);
    await tlWaitFor(() => expect(text('state')).toBe('connected'), { timeout: 5000 });
    expect(server.stats().connections).toBe(1);
    view.unmount();
    expect(plugin.client.state).toBe('closed');
    await waitFor(() => server.stats().connections === 0, 'server-side connection gone');
  });

  it('connects a client it was given and leaves it open when the app unmounts', async () => {
    const { client, connect } = fakeClient();
    const view = mount(createRealtime({ client }), () => [h(State)]);
    expect(client.state).toBe('connecting');
    await connect();
    await nextTick();
    expect(text('state')).toBe('connected');
    view.unmount();
    expect(client.state).toBe('connected');
  });

  it('throws a clear error when a composable is used without the plugin', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(() => render(State)).toThrow(/createRealtime/);
  });
});

describe('useSubscription', () => {
  it('shares one server subscription between components and releases every handler on unmount', async () => {
    const { client, fake, connect, frames } = fakeClient();
    await connect();
    const got: string[] = [];
    const view = mount(createRealtime({ client }), () => [
      h(Last, { topic: 'order:1', id: 'a', opts: { onMessage: (m: Publication) => got.push(`a${m.offset}`) } }),
      h(Last, { topic: 'order:1', id: 'b', opts: { onMessage: (m: Publication) => got.push(`b${m.offset}`) } }),
      h(Count, { topic: 'room:1' }),
    ]);
    await tick();
    expect(frames('sub', 'order:1')).toHaveLength(1);
    expect(frames('watch', 'room:1')).toHaveLength(1);
    fake.link.subscribed('order:1');
    fake.link.push(msg('order:1', 1, { status: 'paid' }));
    await nextTick();
    expect(got.sort()).toEqual(['a1', 'b1']);
    expect(text('a')).toBe('{"status":"paid"}');
    expect(text('b')).toBe('{"status":"paid"}');

    view.unmount();
    await tick();
    expect(frames('unsub', 'order:1')).toHaveLength(1);
    expect(frames('unwatch', 'room:1')).toHaveLength(1);
    fake.link.push(msg('order:1', 2));
    expect(got).toHaveLength(2);
  });

  it('re-renders only the components whose topic got a message', async () => {
    const { client, fake, connect } = fakeClient();
    await connect();
    const renders: Record<string, number> = { a: 0, b: 0 };
    const Topic = defineComponent({
      props: { name: { type: String, required: true } },
      setup(props) {
        const last = useSubscription<number>(`t:${props.name}`);
        return () => {
          renders[props.name]!++;
          return h('span', { 'data-testid': props.name }, String(last.value?.data ?? 'none'));
        };
      },
    });
    mount(createRealtime({ client }), () => [h(Topic, { name: 'a' }), h(Topic, { name: 'b' })]);
    await tick();
    fake.link.subscribed('t:a');
    fake.link.subscribed('t:b');
    await nextTick();
    const before = { ...renders };
    fake.link.push(msg('t:a', 1, 42));
    await nextTick();
    expect(text('a')).toBe('42');
    expect(renders.a).toBe(before.a! + 1);
    expect(renders.b).toBe(before.b);
  });

  it('follows a topic ref and an enabled ref', async () => {
    const { client, connect, frames } = fakeClient();
    await connect();
    const state = reactive({ topic: 'order:1', on: false });
    const Sub = defineComponent(() => {
      const last = useSubscription(() => state.topic, { enabled: () => state.on });
      return () => h('span', last.value ? 'got' : 'none');
    });
    mount(createRealtime({ client }), () => [h(Sub)]);
    await tick();
    expect(frames('sub')).toHaveLength(0);
    state.on = true;
    await nextTick();
    await tick();
    state.topic = 'order:2';
    await nextTick();
    await tick();
    expect(frames('sub').map((f) => f.topic)).toEqual(['order:1', 'order:2']);
    expect(frames('unsub').map((f) => f.topic)).toEqual(['order:1']);
  });

  it('feeds a Pinia setup store from a subscription', async () => {
    const { client, fake, connect } = fakeClient();
    await connect();
    const useOrders = defineStore('orders', () => {
      const orders = ref<Record<string, string>>({});
      const gaps = ref(0);
      useSubscription<{ id: string; status: string }>('orders', {
        onMessage: (m) => (orders.value = { ...orders.value, [m.data.id]: m.data.status }),
        onGap: () => gaps.value++,
      });
      return { orders, gaps };
    });
    const Board = defineComponent(() => {
      const store = useOrders();
      return () => h('span', { 'data-testid': 'board' }, JSON.stringify(store.orders));
    });
    mount(createRealtime({ client }), () => [h(Board)], [createPinia()]);
    await tick();
    fake.link.subscribed('orders');
    fake.link.push(msg('orders', 1, { id: 'o1', status: 'paid' }));
    fake.link.push(msg('orders', 3, { id: 'o2', status: 'new' }));
    await nextTick();
    expect(text('board')).toBe('{"o1":"paid","o2":"new"}');
    expect(useOrders().gaps).toBe(1);
  });
});

describe('against the real server', () => {
  it('shows online counts and delivers /notify and useRealtime publishes', async () => {
    const server = await startServer({ presenceInterval: 20, canPublish: () => true });
    const other = testClient({ url: server.url, app: 'shop', token: await signToken('u2') });
    other.subscribe('room:1', () => {});
    other.connect();
    let rt: ReturnType<typeof useRealtime> | undefined;
    const Grab = defineComponent(() => {
      rt = useRealtime();
      return () => null;
    });
    mount(createRealtime({ options: realOptions(server.url, await signToken('u1')) }), () => [
      h(Last, { topic: 'room:1', id: 'last' }),
      h(Count, { topic: 'room:1' }),
      h(Grab),
    ]);
    await tlWaitFor(() => expect(text('count:room:1')).toBe('2/2'), { timeout: 5000 });
    expect(rt!.state.value.state).toBe('connected');
    await notify(server, { appId: 'shop', eventTopics: ['room:1'], data: 'from backend' });
    await tlWaitFor(() => expect(text('last')).toBe('"from backend"'));
    await rt!.publish('room:1', { hello: 'world' });
    await tlWaitFor(() => expect(text('last')).toBe('{"hello":"world"}'));
    other.close();
    await tlWaitFor(() => expect(text('count:room:1')).toBe('1/1'), { timeout: 5000 });
    expect(server.stats().subscriptions).toBe(1);
  });
});

