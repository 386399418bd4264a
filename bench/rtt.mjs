// bench/rtt.mjs — request/response round-trip latency, p50/p99:
// sdk-realtime `client.request('echo', …)` against the reference server (`methods: { echo }`)
// vs socket.io-client `emitWithAck('echo', …)` against a socket.io server, and raw `ws` with an
// id-correlated JSON echo as the floor. Sequential requests (one in flight), same payload.
//
//   node bench/rtt.mjs            env: N=5000 WARM=20000 RUNS=5 KINDS=raw-ws,sdk-realtime,socket.io-client
//
// The warm-up is long on purpose: this measures a server that has been up for a while. With 500
// warm-up requests the reference server's path (decode, checks, handler, reply) was still on
// unoptimised code for part of the sample and read 1.4-1.65x raw ws; from about 10,000 requests
// on, its p50 is steady. Every contender gets the same warm-up (WARM=500 shows the cold figure).
//
// Server and client are separate processes; runs alternate; per-run p50/p99, median across runs.
// The reference server runs with a raised per-connection frame rate limit (the default, 100
// frames/s, would refuse a benchmark's back-to-back requests with rate_limited).
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { hardTimeout, machine, median, num, percentile, run, startReferenceServer } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const N = num('N', 5000);
const WARM = num('WARM', 20_000);
const RUNS = num('RUNS', 5);
const KINDS = (process.env.KINDS ?? 'raw-ws,sdk-realtime,socket.io-client').split(',');
const PARAMS = { order: 'ord_8f3a2c', status: 'paid', amount: 99.99, currency: 'EUR' };

async function server(kind) {
  hardTimeout(120_000, 'rtt server');
  if (kind === 'sdk-realtime') {
    const s = await startReferenceServer({ methods: { echo: (p) => p } });
    process.stdout.write(`PORT ${s.port}\n`); // killed by the orchestrator after the client's result
    return;
  }
  const http = await import('node:http');
  const httpServer = http.createServer();
  if (kind === 'socket.io-client') {
    const { Server } = await import('socket.io');
    const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
    io.on('connection', (s) => {
      s.on('echo', (p, ack) => ack(p));
      s.on('disconnect', () => process.exit(0));
    });
  } else {
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
    wss.on('connection', (ws) => {
      ws.on('message', (raw) => {
        const f = JSON.parse(String(raw));
        ws.send(JSON.stringify({ id: f.id, result: f.params }));
      });
      ws.on('close', () => process.exit(0));
    });
  }
  httpServer.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${httpServer.address().port}\n`));
}

async function client(kind, port) {
  hardTimeout(120_000, 'rtt client');
  let call;
  let close;
  if (kind === 'sdk-realtime') {
    const { createClient } = await import('../dist/index.js');
    const rt = createClient({ url: `ws://127.0.0.1:${port}/ws`, app: 'bench' });
    rt.connect();
    await new Promise((r) => rt.on('connected', r));
    call = () => rt.request('echo', PARAMS);
    close = () => rt.close();
  } else if (kind === 'socket.io-client') {
    const { io } = await import('socket.io-client');
    const s = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true });
    await once(s, 'connect');
    call = () => s.emitWithAck('echo', PARAMS);
    close = () => s.close();
  } else {
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    await once(ws, 'open');
    const pending = new Map();
    let next = 0;
    ws.on('message', (raw) => {
      const f = JSON.parse(String(raw));
      pending.get(f.id)?.(f.result);
      pending.delete(f.id);
    });
    call = () =>
      new Promise((resolve) => {
        const id = ++next;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method: 'echo', params: PARAMS }));
      });
    close = () => ws.close();
  }
  const lat = new Float64Array(N);
  for (let i = 0; i < WARM; i++) await call();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const r = await call();
    lat[i] = performance.now() - t;
    if (r.order !== PARAMS.order) throw new Error('bad echo');
  }
  lat.sort();
  process.stdout.write(JSON.stringify({ kind, p50: percentile(lat, 50), p99: percentile(lat, 99) }) + '\n');
  close();
  setTimeout(() => process.exit(0), 100);
}

async function main() {
  const results = Object.fromEntries(KINDS.map((k) => [k, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const kind of KINDS.map((_, i) => KINDS[(i + r) % KINDS.length])) {
      const srv = run(SELF, ['server', kind]);
      const port = (await srv.lines.next('PORT')).split(' ')[1];
      const cli = run(SELF, ['client', kind, port]);
      results[kind].push(JSON.parse(await cli.lines.next('{')));
      cli.kill();
      srv.kill();
    }
  }
  const p = (k, q) => median(results[k].map((x) => x[q]));
  console.log(`\n## Request/response round trip\n\n${N} sequential requests (+${WARM} warm-up) per run, median of ${RUNS} runs; ${machine()}\n`);
  console.log('| client → server | p50 µs | p99 µs | p50 vs raw ws | p50 vs socket.io |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  const name = { 'raw-ws': 'raw ws (JSON echo by id)', 'sdk-realtime': 'sdk-realtime request → reference server', 'socket.io-client': 'socket.io-client emitWithAck → socket.io' };
  for (const k of KINDS) {
    const vsRaw = results['raw-ws'] ? (p(k, 'p50') / p('raw-ws', 'p50')).toFixed(2) + '×' : '–';
    const vsSio = results['socket.io-client'] ? (p(k, 'p50') / p('socket.io-client', 'p50')).toFixed(2) + '×' : '–';
    console.log(`| ${name[k]} | ${(p(k, 'p50') * 1000).toFixed(0)} | ${(p(k, 'p99') * 1000).toFixed(0)} | ${vsRaw} | ${vsSio} |`);
  }
}

const [role, a, b] = process.argv.slice(2);
if (role === 'server') await server(a);
else if (role === 'client') await client(a, Number(b));
else await main();
