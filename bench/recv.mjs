// bench/recv.mjs — client receive throughput: sdk-realtime client vs raw `ws` + JSON.parse, same run.
//
//   npm run bench                       (builds, then runs this)
//   env: N=200000 WARM=20000 RUNS=5     messages per run, warm-up messages, runs per contender
//
// One server process pre-encodes N+WARM identical-shape `msg` frames (the native protocol's exact
// bytes) and writes them straight to the TCP socket in ~64 KiB chunks, honouring backpressure, so
// the server costs little and the CLIENT is the bottleneck. Both contenders receive the same
// bytes: raw `ws` only runs JSON.parse on each; sdk-realtime runs its whole receive path
// (validation, ordering/dedupe, subscription dispatch). Client and server are separate processes;
// runs alternate between contenders and the median is reported. Loopback only; every process
// exits by itself (hard timeout).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const num = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const N = num('N', 200_000);
const WARM = num('WARM', 20_000);
const RUNS = num('RUNS', 5);
const HARD_TIMEOUT_MS = 120_000;
const TOPIC = 'order:12345:status';
const EPOCH = 'bench-epoch';

const frameOf = (i) =>
  `{"t":"msg","topic":"${TOPIC}","id":"m${i}","offset":${i},"epoch":"${EPOCH}","ts":${1732470000000 + i},` +
  `"data":{"id":"ord_8f3a2c","status":"paid","amount":99.99,"currency":"EUR"}}`;

// ------------------------------------------------------------------------------------ server
async function server() {
  const { WebSocketServer } = await import('ws');
  const total = N + WARM;
  // Pre-encode unmasked server→client text frames.
  const parts = [];
  const off = new Uint32Array(total + 2);
  let pos = 0;
  for (let i = 1; i <= total; i++) {
    const p = Buffer.from(frameOf(i));
    const h = p.length < 126 ? Buffer.from([0x81, p.length]) : Buffer.from([0x81, 126, p.length >> 8, p.length & 255]);
    parts.push(h, p);
    off[i] = pos;
    pos += h.length + p.length;
  }
  off[total + 1] = pos;
  const all = Buffer.concat(parts, pos);

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  process.stdout.write(`PORT ${wss.address().port}\n`);
  const stream = async (ws) => {
    const sock = ws._socket;
    for (let i = 1; i <= total && !sock.destroyed; i += 512) {
      const j = Math.min(total + 1, i + 512);
      if (!sock.write(all.subarray(off[i], off[j]))) await once(sock, 'drain');
    }
  };
  wss.on('connection', (ws, req) => {
    if (req.url.includes('raw')) {
      void stream(ws);
      return;
    }
    ws.on('message', (raw) => {
      const f = JSON.parse(String(raw));
      if (f.t === 'connect') {
        ws.send(JSON.stringify({ t: 'reply', id: f.id, result: { client: 'c1', user: null, device: null, ping: 60_000, maxFrame: 1 << 20, streams: {} } }));
      } else if (f.t === 'sub') {
        ws.send(JSON.stringify({ t: 'reply', id: f.id, result: { epoch: EPOCH, offset: 0, recovered: true, pubs: [] } }));
        // Let the reply leave before raw writes start on the same socket.
        setImmediate(() => void stream(ws));
      }
    });
  });
  wss.on('connection', (ws) => ws.on('close', () => process.exit(0)));
}

// ------------------------------------------------------------------------------------ clients
async function client(kind, port) {
  const total = N + WARM;
  let count = 0;
  let t0 = 0;
  let cpu0;
  const done = (close) => {
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(
      JSON.stringify({ kind, msgsPerSec: Math.round((N / ms) * 1000), cpuUsPerMsg: (cpu.user + cpu.system) / N }) + '\n',
    );
    close();
    setTimeout(() => process.exit(0), 50);
  };
  const onMessage = (close) => {
    count++;
    if (count === WARM) {
      t0 = performance.now();
      cpu0 = process.cpuUsage();
    } else if (count === total) done(close);
  };
  if (kind === 'raw-ws') {
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/raw`);
    let sink = 0;
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      sink += msg.offset;
      onMessage(() => ws.close());
    });
    process.on('exit', () => sink);
  } else {
    const { createClient } = await import('../dist/index.js');
    const rt = createClient({ url: `ws://127.0.0.1:${port}/ws`, app: 'bench', token: 'unused' });
    let sink = 0;
    rt.subscribe(TOPIC, (msg) => {
      sink += msg.offset;
      onMessage(() => rt.close());
    });
    process.on('exit', () => sink);
    rt.connect();
  }
}

// ------------------------------------------------------------------------------------ orchestrator
function run(args) {
  const child = spawn(process.execPath, [SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), HARD_TIMEOUT_MS);
  child.on('exit', () => clearTimeout(timer));
  return child;
}
async function firstLine(child, prefix) {
  let buf = '';
  for await (const chunk of child.stdout) {
    buf += chunk;
    const line = buf.split('\n').find((l) => l.startsWith(prefix));
    if (line) return line;
  }
  throw new Error('process ended without output');
}
async function once1(kind) {
  const srv = run(['server']);
  const port = Number((await firstLine(srv, 'PORT')).split(' ')[1]);
  const cli = run(['client', kind, String(port)]);
  const result = JSON.parse(await firstLine(cli, '{'));
  srv.kill();
  return result;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const kinds = ['raw-ws', 'sdk-realtime'];
  const results = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const kind of r % 2 ? [...kinds].reverse() : kinds) results[kind].push(await once1(kind));
  }
  const raw = median(results['raw-ws'].map((x) => x.msgsPerSec));
  console.log(`receive throughput, ${N} messages (+${WARM} warm-up), median of ${RUNS} runs, node ${process.version}\n`);
  console.log('| client | msgs/s (median) | CPU µs/msg (median) | vs raw ws |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const kind of kinds) {
    const rate = median(results[kind].map((x) => x.msgsPerSec));
    const cpu = median(results[kind].map((x) => x.cpuUsPerMsg));
    console.log(`| ${kind} | ${rate.toLocaleString('en')} | ${cpu.toFixed(2)} | ${((rate / raw) * 100).toFixed(1)}% |`);
  }
}

const [role, a, b] = process.argv.slice(2);
if (role === 'server') await server();
else if (role === 'client') await client(a, Number(b));
else await main();
