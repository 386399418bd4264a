import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../src/index';
import { RealtimeProvider, useConnectionState, useOnlineCount, useRealtime, useSubscription } from '../../src/react/index';
import { fakeTransport, tick } from '../client/fake-transport';
import { cleanup, signToken, sleep, startServer } from '../support/harness';
import { realOptions } from './helpers';

afterEach(cleanup);

function Page() {
  const { state } = useRealtime();
  const snapshot = useConnectionState();
  const last = useSubscription('order:1', () => {});
  const count = useOnlineCount('order:1');
  return (
<p>{`${state}|${snapshot.state}|${last ? 'message' : 'no message'}|${count ? 'count' : 'no count'}`}</p>
  );
}

describe('server-side rendering', () => {
  it('renders the idle snapshot and opens no connection (options given)', async () => {
    const server = await startServer();
    const html = renderToString(
      <RealtimeProvider options={realOptions(server.url, await signToken('u1'))}>
        <Page />
      </RealtimeProvider>,
    );
    expect(html).toContain('idle|idle|no message|no count');
    await sleep(100);
    expect(server.stats().connections).toBe(0);
  });

  it('neither connects nor subscribes a client it was given', async () => {
    const fake = fakeTransport();
    const client = createClient({ url: 'ws://test/ws', app: 'shop', transport: fake.transport });
    const html = renderToString(
      <RealtimeProvider client={client}>
        <Page />
      </RealtimeProvider>,
    );
    await tick();
    expect(html).toContain('idle|idle|no message|no count');
    expect(client.state).toBe('idle');
    expect(fake.links).toHaveLength(0);
    // Nothing was held: connecting now would send no `sub` or `watch`.
    client.connect();
    await tick();
    fake.link.open();
    fake.link.accept();
    await tick();
    expect(fake.link.frames('sub')).toHaveLength(0);
    expect(fake.link.frames('watch')).toHaveLength(0);
    client.close();
  });
});
