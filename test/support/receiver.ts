import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onCleanup } from './harness';

/** A local webhook receiver on 127.0.0.1 that records the JSON bodies posted to it (closed after the test). */
export async function webhookReceiver(): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}
