import { afterEach, describe, expect, it } from 'vitest';
import { createSSRApp, defineComponent, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { createClient } from '../../src/index';
import { createRealtime, useOnlineCount, useRealtime, useSubscription } from '../../src/vue/index';
import { fakeTransport, tick } from '../client/fake-transport';
import { cleanup, signToken, sleep, startServer } from '../support/harness';
import { realOptions } from '../react/helpers';

afterEach(cleanup);

const Page = defineComponent(() => {
  const { state } = useRealtime();
  const last = useSubscription('order:1', () => {});
  const count = useOnlineCount('order:1');
  return () => h('p', `${state.value.state}|${last.value ? 'message' : 'no message'}|${count.value ? 'count' : 'no count'}`);
});

describe('server-side rendering', () => {
  it('renders the idle snapshot and opens no connection (options given)', async () => {
    const server = await startServer();
    const plugin = createRealtime({ options: realOptions(server.url, await signToken('u1')) });
    const html = await renderToString(createSSRApp(Page).use(plugin));
    expect(html).toContain('idle|no message|no count');
    await sleep(100);
    expect(plugin.client.state).toBe('idle');
    expect(server.stats().connections).toBe(0);
  });

  it('neither connects nor subscribes a client it was given', async () => {
    const fake = fakeTransport();
    const client = createClient({ url: 'ws://test/ws', app: 'shop', transport: fake.transport });
    const html = await renderToString(createSSRApp(Page).use(createRealtime({ client })));
    await tick();
    expect(html).toContain('idle|no message|no count');
    expect(client.state).toBe('idle');
    // Nothing was held: connecting now would send no `sub` or `watch`.
    client.connect();
    await tick();
    fake.link.open();
    fake.link.accept();
    await tick();
    expect(fake.link.frames('sub')).toHaveLength(0);
    expect(fake.link.frames('watch')).toHaveLength(0);
  });
});
