import { once } from 'node:events';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanup, notify, signToken, startServer, type TestServer } from '../support/harness';
import { API_KEY } from '../support/harness';
import { CLOSE_CODES, ERROR_CODES, rawClientFrame } from './arbitraries';

/**
 * Random and malformed frames into the real reference server over a raw `ws` socket, before and
 * after `connect`. Every answer must be a documented error code or close code, the server must not
 * crash, and after each batch a fresh connection must still work.
 */
let server: TestServer;
let token = '';
beforeAll(async () => {
  server = await startServer({
    maxFrameBytes: 2048,
    canPublish: () => true,
    methods: { echo: (p: unknown) => p },
    // A quarter of the fuzzed /notify calls use a wrong key: the default lock-out after 10 failures
    // (tested in test/server/http-security.test.ts) would turn the rest into 429s.
    authFailureLimit: { failures: 1_000_000, per: 1000 },
  } as never);
  token = await signToken('u1');
});
afterAll(cleanup);

type Outcome = { frames: any[]; close?: number };

/** Open a socket, optionally `connect`, send `batch`, and collect what comes back until quiet. */
async function session(batch: string[], connectFirst: boolean): Promise<Outcome> {
  const ws = new WebSocket(server.url);
  const out: Outcome = { frames: [] };
  ws.on('message', (d) => out.frames.push(JSON.parse(String(d))));
  ws.on('close', (code) => (out.close = code));
  ws.on('error', () => {});
  await once(ws, 'open');
  if (connectFirst) {
    ws.send(JSON.stringify({ t: 'connect', id: 1_000_000, v: 1, app: 'fuzz', token }));
    await waitUntil(() => out.frames.length > 0 || out.close !== undefined);
  }
  for (const f of batch) if (ws.readyState === WebSocket.OPEN) ws.send(f);
  // A trailing ping is answered by a pong: everything sent before it was processed.
  if (ws.readyState === WebSocket.OPEN) ws.send('{"t":"ping"}');
  await waitUntil(() => out.frames.some((f) => f.t === 'pong') || out.close !== undefined);
  ws.terminate();
  return out;
}

async function waitUntil(p: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!p() && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
}

function checkOutcome(out: Outcome) {
  for (const f of out.frames) {
    expect(['reply', 'error', 'close', 'ping', 'pong', 'msg', 'count', 'expired']).toContain(f.t);
    const err = f.t === 'error' || f.t === 'reply' ? f.error : undefined;
    if (err) expect(ERROR_CODES).toContain(err.code);
    if (f.t === 'close') expect(CLOSE_CODES).toContain(f.code);
  }
  if (out.close !== undefined) expect(CLOSE_CODES).toContain(out.close);
}

async function freshConnectionWorks() {
  const out = await session([JSON.stringify({ t: 'sub', id: 2, topic: 'health' })], true);
  expect(out.frames.find((f) => f.id === 1_000_000)?.result?.user).toBe('u1');
  expect(out.frames.find((f) => f.id === 2)?.result?.recovered).toBe(true);
}

describe('fuzz: the reference server against random client frames', () => {
  it('answers garbage after connect with documented codes and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rawClientFrame, { minLength: 1, maxLength: 20 }), async (batch) => {
        checkOutcome(await session(batch, true));
      }),
      { numRuns: 200, interruptAfterTimeLimit: 4000, markInterruptAsFailure: false },
    );
    await freshConnectionWorks();
    await waitUntil(() => server.stats().connections === 0);
    expect(server.stats().connections).toBe(0);
  });

  it('answers garbage before connect with documented codes (4000 / 4102 closes) and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rawClientFrame, { minLength: 1, maxLength: 5 }), async (batch) => {
        checkOutcome(await session(batch, false));
      }),
      { numRuns: 200, interruptAfterTimeLimit: 4000, markInterruptAsFailure: false },
    );
    await freshConnectionWorks();
  });

  it('survives oversized and binary frames', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: 2049, max: 10_000 }).map((n) => JSON.stringify({ t: 'pub', id: 3, topic: 'a', key: 'k', data: 'x'.repeat(n) })),
          fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b) as unknown as string),
        ),
        async (frame) => {
          checkOutcome(await session([frame], true));
        },
      ),
      { numRuns: 50, interruptAfterTimeLimit: 4000, markInterruptAsFailure: false },
    );
    await freshConnectionWorks();
  });
});

describe('fuzz: POST /notify with random bodies', () => {
  // Found by this fuzz: a body that is not JSON got a 400 naming no field.
  it('names a field in the 400 for a body that is not JSON', async () => {
    const res = await notify(server, '{"appId": "fuzz", ');
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('(body)');
  });

  const target = fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('u1', 'order:1'), fc.integer()), { maxLength: 3 });
  const body = fc.oneof(
    fc.record(
      {
        appId: fc.oneof(fc.constantFrom('fuzz', 'shop'), fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null)),
        users: fc.oneof(target, fc.string({ maxLength: 4 })),
        devices: target,
        eventTopics: fc.oneof(target, fc.constant(null)),
        data: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant('z'.repeat(3000))),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ maxLength: 30 }),
  );
  it('answers 200/400/401/413/429, 400 names a field, and the server stays healthy', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(API_KEY, API_KEY, API_KEY, 'wrong-key'), async (b, key) => {
        const res = await notify(server, typeof b === 'string' ? b : JSON.stringify(b), key);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([200, 400, 401, 413, 429]).toContain(res.status);
        if (res.status !== 200) expect(typeof res.body?.error?.code).toBe('string');
        if (res.status === 400) expect(typeof res.body.error.field).toBe('string');
        if (res.status === 200) expect(typeof res.body.id).toBe('string');
      }),
      { numRuns: 200, interruptAfterTimeLimit: 4000, markInterruptAsFailure: false },
    );
    expect(statuses.get(400)).toBeGreaterThan(0);
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    const ok = await notify(server, { appId: 'fuzz', eventTopics: ['health'], data: 1 });
    expect(ok.status).toBe(200);
    await freshConnectionWorks();
  });
});
