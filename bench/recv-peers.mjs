// bench/recv-peers.mjs — client receive throughput and CPU per message, in the same run:
// sdk-realtime vs raw `ws` + JSON.parse, socket.io-client (against a real socket.io server) and
// partysocket (+ JSON.parse), alternating, median of RUNS runs.
//
//   npm run bench            (all benchmarks)   node bench/recv-peers.mjs   (this one; needs `npm run build`)
//   env: N=200000 WARM=20000 RUNS=3 KINDS=raw-ws,sdk-realtime,socket.io-client,partysocket
//
// Method (extends bench/recv.mjs): the server process pre-encodes N+WARM frames carrying the same
// message and writes them straight to the TCP socket in ~512-frame chunks, honouring backpressure,
// so the server costs little and the CLIENT process is the bottleneck. sdk-realtime gets native
// `msg` frames after a real connect/sub handshake and runs its whole receive path (validation,
// ordering/dedupe, dispatch); socket.io-client gets `42["msg",{…}]` event packets after a real
// socket.io handshake (its own decoder parses them); raw ws and partysocket get the native frames and
// run JSON.parse. Timing starts after WARM messages. Loopback only; every process exits by itself.
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { hardTimeout, machine, median, num, run } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const N = num('N', 200_000);
const WARM = num('WARM', 20_000);
const RUNS = num('RUNS', 5);
const KINDS = (process.env.KINDS ?? 'raw-ws,sdk-realtime,socket.io-client,partysocket').split(',');
const TOPIC = 'order:12345:status';
const EPOCH = 'bench-epoch';

const frameOf = (i) =>
  `{"t":"msg","topic":"${TOPIC}","id":"m${i}","offset":${i},"epoch":"${EPOCH}","ts":${1732470000000 + i},` +
  `"data":{"id":"ord_8f3a2c","status":"paid","amount":99.99,"currency":"EUR"}}`;

/** Pre-encoded unmasked server→client text frames, and a function streaming them to a socket. */
function encodeAll(total, payloadOf) {
  const parts = [];
  const off = new Uint32Array(total + 2);
  let pos = 0;
  for (let i = 1; i <= total; i++) {
    const p = Buffer.from(payloadOf(i));
    const h = p.length < 126 ? Buffer.from([0x81, p.length]) : Buffer.from([0x81, 126, p.length >> 8, p.length & 255]);
    parts.push(h, p);
    off[i] = pos;
    pos += h.length + p.length;
  }
  off[total + 1] = pos;
  const all = Buffer.concat(parts, pos);
  return async (sock) => {
    for (let i = 1; i <= total && !sock.destroyed; i += 512) {
      const j = Math.min(total + 1, i + 512);
      if (!sock.write(all.subarray(off[i], off[j]))) await once(sock, 'drain');
    }
  };
}

// ------------------------------------------------------------------------------------ servers
async function server(kind) {
  hardTimeout(120_000, 'recv-peers server');
  const total = N + WARM;
  if (kind === 'socket.io-client') {
    const http = await import('node:http');
    const { Server } = await import('socket.io');
    const stream = encodeAll(total, (i) => `42["msg",${frameOf(i)}]`);
    const httpServer = http.createServer();
    const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
    io.on('connection', (s) => {
      // After the socket.io handshake, write event packets straight to the TCP socket.
      setImmediate(() => void stream(s.conn.transport.socket._socket));
      s.on('disconnect', () => process.exit(0));
    });
    httpServer.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${httpServer.address().port}\n`));
    return;
  }
  const { WebSocketServer } = await import('ws');
  const stream = encodeAll(total, frameOf);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  process.stdout.write(`PORT ${wss.address().port}\n`);
  wss.on('connection', (ws) => {
    ws.on('close', () => process.exit(0));
    if (kind !== 'sdk-realtime') return void stream(ws._socket);
    ws.on('message', (raw) => {
      const f = JSON.parse(String(raw));
      if (f.t === 'connect') {
        ws.send(JSON.stringify({ t: 'reply', id: f.id, result: { client: 'c1', user: null, device: null, ping: 60_000, maxFrame: 1 << 20, streams: {} } }));
      } else if (f.t === 'sub') {
        ws.send(JSON.stringify({ t: 'reply', id: f.id, result: { epoch: EPOCH, offset: 0, recovered: true, pubs: [] } }));
        setImmediate(() => void stream(ws._socket));
      }
    });
  });
}

// ------------------------------------------------------------------------------------ clients
async function client(kind, port) {
  hardTimeout(120_000, 'recv-peers client');
  const total = N + WARM;
  let count = 0;
  let t0 = 0;
  let cpu0;
  let sink = 0;
  let close = () => {};
  const done = () => {
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(JSON.stringify({ kind, msgsPerSec: Math.round((N / ms) * 1000), cpuUsPerMsg: (cpu.user + cpu.system) / N, sink }) + '\n');
    close();
    setTimeout(() => process.exit(0), 50);
  };
  const onMessage = (offset) => {
    sink += offset;
    if (++count === WARM) {
      t0 = performance.now();
      cpu0 = process.cpuUsage();
    } else if (count === total) done();
  };
  if (kind === 'raw-ws') {
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/raw`, { perMessageDeflate: false });
    ws.on('message', (data) => onMessage(JSON.parse(data.toString()).offset));
    close = () => ws.close();
  } else if (kind === 'partysocket') {
    const { default: WebSocket } = await import('ws');
    const { WebSocket: PartySocket } = await import('partysocket');
    const ps = new PartySocket(`ws://127.0.0.1:${port}/party`, undefined, { WebSocket });
    ps.addEventListener('message', (e) => onMessage(JSON.parse(e.data.toString()).offset));
    close = () => ps.close();
  } else if (kind === 'socket.io-client') {
    const { io } = await import('socket.io-client');
    const s = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true });
    s.on('msg', (m) => onMessage(m.offset));
    close = () => s.close();
  } else {
    const { createClient } = await import('../dist/index.js');
    const rt = createClient({ url: `ws://127.0.0.1:${port}/ws`, app: 'bench', token: 'unused' });
    rt.subscribe(TOPIC, (msg) => onMessage(msg.offset));
    close = () => rt.close();
    rt.connect();
  }
}

// ------------------------------------------------------------------------------------ orchestrator
async function one(kind) {
  const srv = run(SELF, ['server', kind]);
  const port = (await srv.lines.next('PORT')).split(' ')[1];
  const cli = run(SELF, ['client', kind, port]);
  const result = JSON.parse(await cli.lines.next('{'));
  srv.kill();
  cli.kill();
  return result;
}

async function main() {
  const results = Object.fromEntries(KINDS.map((k) => [k, []]));
  for (let r = 0; r < RUNS; r++) {
    // Rotate the order each run so no contender always goes first (CPU frequency, noise).
    const order = KINDS.map((_, i) => KINDS[(i + r) % KINDS.length]);
    for (const kind of order) results[kind].push(await one(kind));
  }
  const rate = (k) => median(results[k].map((x) => x.msgsPerSec));
  const raw = rate('raw-ws');
  const sio = results['socket.io-client'] ? rate('socket.io-client') : NaN;
  console.log(`\n## Receive throughput\n\n${N} messages (+${WARM} warm-up) per run, median of ${RUNS} alternating runs; ${machine()}\n`);
  console.log('| client | msgs/s (median) | CPU µs/msg (median) | vs raw ws | vs socket.io-client |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const kind of KINDS) {
    const cpu = median(results[kind].map((x) => x.cpuUsPerMsg));
    console.log(`| ${kind} | ${rate(kind).toLocaleString('en')} | ${cpu.toFixed(2)} | ${((rate(kind) / raw) * 100).toFixed(1)}% | ${(rate(kind) / sio).toFixed(2)}× |`);
  }
  console.log(`\nall runs (msgs/s): ${JSON.stringify(Object.fromEntries(KINDS.map((k) => [k, results[k].map((x) => x.msgsPerSec)])))}`);
}

const [role, a, b] = process.argv.slice(2);
if (role === 'server') await server(a);
else if (role === 'client') await client(a, Number(b));
else await main();
