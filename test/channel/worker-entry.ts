// Bundled by test/channel/worker.test.ts: a worker thread that owns the WebSocket and relays for the main thread.
import { parentPort } from 'node:worker_threads';
import { createChannelHost, messagePort } from '../../src/channel/index';

const host = createChannelHost(messagePort(parentPort as never));
parentPort!.on('message', (m: unknown) => {
  if (m === 'stats') parentPort!.postMessage({ stats: host.size });
});
