// @vitest-environment jsdom
import { act, cleanup as unmountReact, render as renderReact, screen } from '@testing-library/react';
import { cleanup as unmountVue, render as renderVue } from '@testing-library/vue';
import { afterEach, describe, expect, it } from 'vitest';
import { defineComponent, h, nextTick } from 'vue';
import { createFlags } from '../../src/flags/index';
import { FlagsProvider, useFlag as useReactFlag } from '../../src/react/index';
import { flagsKey, useFlag as useVueFlag } from '../../src/vue/index';
import { API_KEY, cleanup, onCleanup, startServer, waitFor, type TestServer, signToken } from '../support/harness';

afterEach(async () => {
  unmountReact();
  unmountVue();
  await cleanup();
});


const put = (server: TestServer, key: string, body: unknown) =>
  fetch(`${server.httpUrl}/api/flags/${key}`, { method: 'PUT', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function polledFlags() {
  const server = await startServer({
    flags: {
      definitions: [
        { key: 'theme', enabled: true, value: 'light' },
        { key: 'layout', enabled: true, value: { cols: 2 } },
      ],
    },
  });
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

describe('useFlag(key, fallback) from a provided store re-renders only on that flag\'s change', () => {
  it('React: <FlagsProvider>; another flag\'s change (a new set with an equal object flag) causes no render', async () => {
    const { server, flags } = await polledFlags();
    let renders = 0;
    function Theme() {
      renders++;
      const layout = useReactFlag<{ cols: number } | null>('layout', null);
      return (
        <p>
          theme: {useReactFlag('theme', 'unknown')} cols: {layout?.cols}
        </p>
      );
    }
    renderReact(
      <FlagsProvider flags={flags}>
        <Theme />
      </FlagsProvider>,
    );
    await act(() => flags.ready);
    await waitFor(() => screen.queryByText('theme: light cols: 2') !== null, 'first value');
    const settled = renders;
    // A poll answer is a whole new set (a new `layout` object, equal to the last one).
    await act(async () => {
      expect((await put(server, 'other', { enabled: true, value: 2 })).status).toBe(200);
      await waitFor(() => flags.get('other', 0) === 2, 'other flag polled');
    });
    expect(renders).toBe(settled);
    await act(async () => {
      await put(server, 'theme', { enabled: true, value: 'dark' });
      await waitFor(() => flags.get('theme', '') === 'dark', 'theme polled');
    });
    expect(screen.getByText('theme: dark cols: 2')).toBeTruthy();
    expect(renders).toBe(settled + 1);
  });

  it('React: useFlag(key, fallback) outside a <FlagsProvider> throws, naming it', () => {
    function Lost() {
      return <p>{String(useReactFlag('theme', 'x'))}</p>;
    }
    const spy = console.error;
    console.error = () => {};
    try {
      expect(() => renderReact(<Lost />)).toThrow(/FlagsProvider/);
    } finally {
      console.error = spy;
    }
  });

  it('Vue: provide(flagsKey, flags); another flag\'s change (a new set with an equal object flag) causes no render', async () => {
    const { server, flags } = await polledFlags();
    let renders = 0;
    const Theme = defineComponent({
      setup() {
        const theme = useVueFlag('theme', 'unknown');
        const layout = useVueFlag<{ cols: number } | null>('layout', null);
        return () => {
          renders++;
          return h('p', `theme: ${theme.value} cols: ${layout.value?.cols}`);
        };
      },
    });
    const view = renderVue(Theme, { global: { provide: { [flagsKey as symbol]: flags } } });
    await flags.ready;
    await view.findByText('theme: light cols: 2');
    const settled = renders;
    expect((await put(server, 'other', { enabled: true, value: 2 })).status).toBe(200);
    await waitFor(() => flags.get('other', 0) === 2, 'other flag polled');
    await nextTick();
    expect(renders).toBe(settled);
    await put(server, 'theme', { enabled: true, value: 'dark' });
    await view.findByText('theme: dark cols: 2');
    expect(renders).toBe(settled + 1);
  });

  it('Vue: useFlag(key, fallback) without a provided store throws, naming flagsKey', () => {
    const Lost = defineComponent({
      setup() {
        useVueFlag('theme', 'x');
        return () => h('p');
      },
    });
    const warn = console.warn;
    console.warn = () => {};
    try {
      expect(() => renderVue(Lost)).toThrow(/flagsKey/);
    } finally {
      console.warn = warn;
    }
  });
});
