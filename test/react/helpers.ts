import WebSocket from 'ws';
import { createClient, webSocketTransport, type ClientOptions } from '../../src/index';
import { fakeTransport, tick } from '../client/fake-transport';
import { fakeEnvironment } from '../client/setup';
import { onCleanup } from '../support/harness';

/** A client on a fake transport (the test plays the server), closed at cleanup. */
export function fakeClient(options: Partial<ClientOptions> = {}) {
  const fake = fakeTransport();
  const client = createClient({
    url: 'ws://test/ws',
    app: 'shop',
    token: 't0',
    transport: fake.transport,
    environment: fakeEnvironment().env,
    ...options,
  });
  onCleanup(() => client.close());
  /** connect() if idle, open the newest link and accept `connect`. */
  const connect = async () => {
    if (client.state === 'idle') client.connect();
    await tick();
    fake.link.open();
    fake.link.accept();
    await tick();
  };
  /** Frames of type `t` the client sent over every link. */
  const frames = (t: string, topic?: string) =>
    fake.links.flatMap((l) => l.frames(t)).filter((f) => topic === undefined || f.topic === topic);
  return { client, fake, connect, frames };
}

/** Options for a client of the real server over `ws` (what jsdom offers is not what we test). */
export const realOptions = (url: string, token: string): ClientOptions => ({
  url,
  app: 'shop',
  token,
  transport: webSocketTransport({ WebSocket: WebSocket as never }),
  reconnect: { floor: 50, ceiling: 300 },
});
