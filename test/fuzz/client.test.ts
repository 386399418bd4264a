import { once } from 'node:events';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createClient } from '../../src/index';
import type { Publication } from '../../src/protocol/frames';
import { sleep, waitFor } from '../support/harness';
import { ERROR_CODES, rawServerFrame } from './arbitraries';

/**
 * A fake server: answers `connect` and `sub`, then pushes the run's fuzz frames followed by one
 * sentinel message on a topic the fuzz never names. The client must not throw, must report what it
 * drops as `error` events with documented codes, keep a sane state, and still deliver the sentinel
 * unless the fuzz told it to disconnect.
 */
let wss: WebSocketServer;
let port = 0;
let script: string[] = [];
const STATES = ['idle', 'connecting', 'connected', 'reconnecting', 'closed'];

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  port = (wss.address() as { port: number }).port;
  wss.on('connection', (sock: WebSocket) => {
    let subs = 0;
    sock.on('message', (raw) => {
      let f: any;
      try {
        f = JSON.parse(String(raw));
      } catch {
        return;
      }
      const reply = (result: unknown) => sock.send(JSON.stringify({ t: 'reply', id: f.id, result }));
      if (f.t === 'connect') reply({ client: 'c', user: 'u1', device: null, ping: 60_000, maxFrame: 1 << 20, streams: {} });
      else if (f.t === 'sub') {
        reply({ epoch: 'e1', offset: 0, recovered: true, pubs: [] });
        if (++subs === 2) {
          for (const frame of script) sock.send(frame);
          sock.send(JSON.stringify({ t: 'msg', topic: 'sentinel', id: 'sentinel-1', offset: 1, epoch: 'e1', ts: Date.now(), data: 'end' }));
        }
      } else if (typeof f.id === 'number') reply({});
    });
  });
});
afterAll(() => new Promise<void>((r) => wss.close(() => r())));

describe('fuzz: the client against a server sending random frames', () => {
  it('never throws, reports documented error codes, keeps a sane state and keeps delivering', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(rawServerFrame, { minLength: 1, maxLength: 15 }), async (frames) => {
        script = frames.filter((f) => !f.includes('sentinel'));
        const c = createClient({
          url: `ws://127.0.0.1:${port}/ws`,
          app: 'fuzz',
          token: async () => 't',
          reconnect: { floor: 20, ceiling: 50 },
          requestTimeout: 200,
        });
        const errors: Array<{ code: string }> = [];
        let disconnected = false;
        let got: Publication | undefined;
        c.on('error', (e) => errors.push(e));
        c.on('disconnected', () => (disconnected = true));
        c.on('state', (s) => expect(STATES).toContain(s.state));
        c.subscribe('a', () => {});
        c.subscribe('sentinel', (m) => (got = m));
        try {
          c.connect();
          await waitFor(() => got !== undefined || disconnected || c.state === 'closed', 'sentinel or disconnect', 3000);
          if (!disconnected && c.state !== 'closed') expect(got?.data).toBe('end');
          // The client's own codes are documented; a server's `error` frame may carry any code and is passed on.
          const relayed = script.join('\n');
          for (const e of errors) {
            if (!ERROR_CODES.includes(e.code)) expect(relayed).toContain(`"code":${JSON.stringify(e.code)}`);
            seen.add(e.code);
          }
          expect(STATES).toContain(c.state);
        } finally {
          c.close();
        }
        expect(c.state).toBe('closed');
      }),
      { numRuns: 200, interruptAfterTimeLimit: 5000, markInterruptAsFailure: false },
    );
    // the fuzz did reach the validator
    expect(seen.has('bad_frame')).toBe(true);
    await sleep(20);
  });
});
