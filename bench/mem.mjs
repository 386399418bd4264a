// bench/mem.mjs — client heap per open connection and per subscription, loopback only:
// sdk-realtime vs raw `ws`, socket.io-client and partysocket (COUNT clients in one process).
//
//   node bench/mem.mjs        env: COUNT=2000 RUNS=1 WAVE=100 KINDS=raw-ws,sdk-realtime,socket.io-client,partysocket
//
// Method (as /work/shared/peer-bench/bench-mem.mjs): the client process runs with --expose-gc,
// opens one warm-up connection (kept, excluded: one-time lazy init), takes a baseline after forced
// GC, opens COUNT more (WAVE at a time, each wave waits for connected), waits 1 s, forces GC and
// reports heapUsed delta / COUNT. "sdk-realtime per subscription": one connected client subscribes
// to COUNT distinct topics (each acknowledged by the server), delta / COUNT. Servers run in their
// own process (the reference server with anonymous connections and raised subscription/rate limits).
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { hardTimeout, machine, median, num, run, sleep, startReferenceServer } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const COUNT = num('COUNT', 2000);
const RUNS = num('RUNS', 1);
const WAVE = num('WAVE', 100);
const KINDS = (process.env.KINDS ?? 'raw-ws,sdk-realtime,sdk-realtime/subscription,socket.io-client,partysocket').split(',');

async function server(kind) {
  hardTimeout(180_000, 'mem server');
  if (kind.startsWith('sdk-realtime')) {
    const s = await startReferenceServer({ maxSubscriptions: COUNT + 10 });
    process.stdout.write(`PORT ${s.port}\n`);
    return;
  }
  const http = await import('node:http');
  const httpServer = http.createServer();
  if (kind === 'socket.io-client') {
    const { Server } = await import('socket.io');
    new Server(httpServer, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
  } else {
    const { WebSocketServer } = await import('ws');
    new WebSocketServer({ server: httpServer, perMessageDeflate: false });
  }
  httpServer.listen(0, '127.0.0.1', 4096, () => process.stdout.write(`PORT ${httpServer.address().port}\n`));
}

async function client(kind, port) {
  hardTimeout(170_000, 'mem client');
  let open1;
  if (kind === 'raw-ws' || kind === 'partysocket') {
    const { default: WebSocket } = await import('ws');
    const { WebSocket: PartySocket } = await import('partysocket');
    open1 = async () => {
      const s = kind === 'raw-ws' ? new WebSocket(`ws://127.0.0.1:${port}`) : new PartySocket(`ws://127.0.0.1:${port}`, undefined, { WebSocket });
      s.addEventListener('message', () => {});
      await new Promise((r) => s.addEventListener('open', r, { once: true }));
      return s;
    };
  } else if (kind === 'socket.io-client') {
    const { io } = await import('socket.io-client');
    open1 = async () => {
      const s = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true });
      s.on('msg', () => {});
      await once(s, 'connect');
      return s;
    };
  } else {
    const { createClient } = await import('../dist/index.js');
    open1 = async () => {
      const rt = createClient({ url: `ws://127.0.0.1:${port}/ws`, app: 'bench' });
      rt.on('message', () => {});
      // The bench's own listener goes once connected, as raw ws and partysocket use `{ once: true }`.
      await new Promise((r) => {
        const off = rt.on('connected', () => (off(), r()));
        rt.connect();
      });
      return rt;
    };
  }
  const gcAll = async () => {
    for (let i = 0; i < 4; i++) {
      globalThis.gc();
      await sleep(50);
    }
  };
  const keep = [await open1()];
  await sleep(200);
  await gcAll();
  const base = process.memoryUsage();
  if (kind === 'sdk-realtime/subscription') {
    const rt = keep[0];
    let acked = 0;
    for (let i = 0; i < COUNT; i++) keep.push(rt.subscribe(`topic:${i}`, () => {}, { onSubscribed: () => acked++ }));
    while (acked < COUNT) await sleep(20);
  } else {
    for (let i = 0; i < COUNT; i += WAVE) keep.push(...(await Promise.all(Array.from({ length: Math.min(WAVE, COUNT - i) }, open1))));
  }
  await sleep(1000);
  await gcAll();
  const after = process.memoryUsage();
  process.stdout.write(
    JSON.stringify({ kind, heapPer: (after.heapUsed - base.heapUsed) / COUNT, rssPer: (after.rss - base.rss) / COUNT, kept: keep.length }) + '\n',
  );
  process.exit(0);
}

async function main() {
  const results = Object.fromEntries(KINDS.map((k) => [k, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const kind of KINDS) {
      const srv = run(SELF, ['server', kind], { timeoutMs: 180_000 });
      const port = (await srv.lines.next('PORT')).split(' ')[1];
      const cli = run(SELF, ['client', kind, port], { nodeArgs: ['--expose-gc'], timeoutMs: 180_000 });
      results[kind].push(JSON.parse(await cli.lines.next('{')));
      srv.kill();
    }
  }
  const kb = (k, f) => median(results[k].map((x) => x[f])) / 1024;
  // raw ws is the baseline of the last column; without it in KINDS the column says so.
  const raw = results['raw-ws'] ? kb('raw-ws', 'heapPer') : NaN;
  console.log(`\n## Client memory\n\n${COUNT} connections (or subscriptions) in one process, heapUsed delta after forced GC / ${COUNT}, median of ${RUNS} run(s); ${machine()}\n`);
  console.log('| client | heap KB per unit | RSS KB per unit | heap vs raw ws |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const k of KINDS) {
    const unit = k.endsWith('/subscription') ? `${k.split('/')[0]} (per subscription)` : `${k} (per idle connection)`;
    console.log(`| ${unit} | ${kb(k, 'heapPer').toFixed(2)} | ${kb(k, 'rssPer').toFixed(1)} | ${raw ? (kb(k, 'heapPer') / raw).toFixed(2) + '×' : 'n/a (raw-ws not run)'} |`);
  }
}

const [role, a, b] = process.argv.slice(2);
if (role === 'server') await server(a);
else if (role === 'client') await client(a, Number(b));
else await main();
