// @vitest-environment jsdom
import { act, cleanup as unmountReact, render as renderReact, screen } from '@testing-library/react';
import { cleanup as unmountVue, render as renderVue } from '@testing-library/vue';
import { afterEach, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createFlags } from '../../src/flags/index';
import { useFlag as useReactFlag } from '../../src/react/index';
import { useFlag as useVueFlag } from '../../src/vue/index';
import { API_KEY, cleanup, onCleanup, startServer, waitFor, type TestServer, signToken } from '../support/harness';

afterEach(async () => {
  unmountReact();
  unmountVue();
  await cleanup();
});


const put = (server: TestServer, key: string, body: unknown) =>
  fetch(`${server.httpUrl}/api/flags/${key}`, { method: 'PUT', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function polledFlags() {
  const server = await startServer({ flags: { definitions: [{ key: 'theme', enabled: true, value: 'light' }] } });
  const flags = createFlags(undefined, { url: server.httpUrl, token: await signToken('u1'), interval: 30 });
  onCleanup(() => flags.close());
  return { server, flags };
}

describe('useFlag adapters over a createFlags store (real server, HTTP polling)', () => {
  it('React: renders the fallback, then the value, and re-renders on change', async () => {
    const { server, flags } = await polledFlags();
    function Theme() {
      return <p>theme: {useReactFlag(flags, 'theme', 'unknown')}</p>;
    }
    renderReact(<Theme />);
    await act(() => flags.ready);
    await waitFor(() => screen.queryByText('theme: light') !== null, 'first value');
    await act(async () => {
      await put(server, 'theme', { enabled: true, value: 'dark' });
      await waitFor(() => flags.get('theme', '') === 'dark', 'polled');
    });
    expect(screen.getByText('theme: dark')).toBeTruthy();
  });

  it('Vue: a shallowRef that follows the flag', async () => {
    const { server, flags } = await polledFlags();
    const Theme = defineComponent({
      setup() {
        const theme = useVueFlag(flags, 'theme', 'unknown');
        return () => h('p', `theme: ${theme.value}`);
      },
    });
    const view = renderVue(Theme);
    await flags.ready;
    await view.findByText('theme: light');
    await put(server, 'theme', { enabled: true, value: 'dark' });
    await view.findByText('theme: dark');
  });
});
