// bench/fanout.mjs — reference server fan-out: CONNS connections (from separate client processes)
// subscribed to one topic; one broadcast (p50/p99/max delivery latency), then a burst of BURST
// broadcasts (deliveries/s sustained and their latency) — next to a socket.io server doing the same
// (one room, `io.to(room).emit`).
//
//   node bench/fanout.mjs     env: CONNS=10000 PROCS=2 BURST=20 WAVE=250 KINDS=ws,sdk-realtime,socket.io
//
// KINDS may add `bridge`: the reference server's socket.io bridge (socket.io clients on namespace
// /bench, `subscribe`, deliveries through the broker as `dataUpdate` plus the topic-named event;
// `bridge+redis` on the Redis broker, NODES apply), and `ws`: a bare `ws` server sending one pre-encoded text to every socket (the floor
// any server on this machine stands on), and `sdk-realtime+redis`: the same server on the Redis broker (one node, so the figure
// is the cost of Redis), and `socket.io+redis`: socket.io with `@socket.io/redis-adapter`; both on
// BENCH_REDIS_URL or a `redis-server` this script starts on a free port. NODES=2 runs that many
// server processes of a `+redis` kind on the one Redis: client process i connects to node i % NODES
// and every broadcast is sent on node 0, so most deliveries cross nodes through Redis.
//
//   NODES=2 KINDS=sdk-realtime+redis,socket.io+redis node bench/fanout.mjs
//
// The load clients are plain `ws` sockets speaking each server's wire protocol (native connect/sub;
// engine.io/socket.io open + namespace connect), so the client side stays cheap and the SERVER is
// what is measured. Latency = receive time − the message's `ts` (the reference server stamps `ts`
// at publish; the socket.io server puts Date.now() in the payload) — same machine, same clock, ms
// resolution. The reference server runs in-process publishes (`server.publish`, what `/notify`
// calls) with anonymous connections and default limits otherwise. Everything on loopback; each
// process exits by itself. File descriptors: the server needs CONNS (+ a few), each client process
// CONNS/PROCS; the script checks `ulimit -n` first and says so when it is too low (raise it in the
// shell: `ulimit -n 20000`; this machine's soft and hard limits are 20000).
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedisServer } from '../scripts/local-cluster.mjs';
import { exited, hardTimeout, machine, num, percentile, run, sleep, startReferenceServer } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const CONNS = num('CONNS', 10_000);
const PROCS = num('PROCS', 2);
const BURST = num('BURST', 20);
const WAVE = num('WAVE', 250);
const KINDS = (process.env.KINDS ?? 'ws,sdk-realtime,socket.io').split(',');
const NODES = num('NODES', 1);
const TOPIC = 'fanout';
const DATA = { id: 'ord_8f3a2c', status: 'paid', amount: 99.99, currency: 'EUR' };

// ------------------------------------------------------------------------------------ server
async function server(kind) {
  hardTimeout(280_000, 'fanout server');
  let broadcast;
  if (kind.startsWith('bridge')) {
    // The socket.io bridge of the reference server: socket.io clients, the broker's fan-out.
    const { redisBroker } = await import('../server/dist/index.js');
    const broker = kind === 'bridge+redis' ? { broker: redisBroker({ url: process.env.BENCH_REDIS_URL }) } : {};
    // TOPIC_EVENTS=0: `dataUpdate` only (socketIo.topicEvents: false), one packet per delivery.
    const s = await startReferenceServer({ socketIo: { transports: ['websocket'], topicEvents: process.env.TOPIC_EVENTS !== '0' }, ...broker });
    broadcast = (n) => s.publish('bench', { eventTopics: [TOPIC], data: { ...DATA, n, ts: Date.now() } });
    process.stdout.write(`PORT ${s.port}\n`);
  } else if (kind.startsWith('sdk-realtime')) {
    const { redisBroker } = await import('../server/dist/index.js');
    const s = await startReferenceServer(kind === 'sdk-realtime+redis' ? { broker: redisBroker({ url: process.env.BENCH_REDIS_URL }) } : {});
    broadcast = (n) => s.publish('bench', { eventTopics: [TOPIC], data: { ...DATA, n } });
    process.stdout.write(`PORT ${s.port}\n`);
  } else if (kind === 'ws') {
    // The floor: a bare `ws` server sending one pre-encoded text to every socket, no protocol.
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 8192, perMessageDeflate: false });
    await new Promise((r) => wss.once('listening', r));
    broadcast = (n) => {
      const text = JSON.stringify({ ...DATA, n, ts: Date.now() });
      for (const ws of wss.clients) ws.send(text);
    };
    process.stdout.write(`PORT ${wss.address().port}\n`);
  } else {
    const http = await import('node:http');
    const { Server } = await import('socket.io');
    const httpServer = http.createServer();
    const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
    if (kind === 'socket.io+redis') {
      const { Redis } = await import('ioredis');
      const { createAdapter } = await import('@socket.io/redis-adapter');
      const pub = new Redis(process.env.BENCH_REDIS_URL);
      io.adapter(createAdapter(pub, pub.duplicate()));
    }
    io.on('connection', (sock) => sock.join(TOPIC));
    broadcast = (n) => io.to(TOPIC).emit('msg', { ...DATA, n, ts: Date.now() });
    await new Promise((r) => httpServer.listen(0, '127.0.0.1', 8192, r));
    process.stdout.write(`PORT ${httpServer.address().port}\n`);
  }
  let cpuAtBurst = process.cpuUsage();
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    for (const line of chunk.split('\n').filter(Boolean)) {
      const [cmd, arg] = line.split(' ');
      if (cmd === 'EXIT') process.exit(0);
      if (cmd === 'CPU') {
        // CPU this process spent since the burst began (user + system), whatever thread did it.
        const { user, system } = process.cpuUsage(cpuAtBurst);
        process.stdout.write(`CPU ${user + system}\n`);
        continue;
      }
      if (cmd === 'BURST') cpuAtBurst = process.cpuUsage();
      const count = Number(arg);
      const t0 = Date.now();
      // A burst: back to back, yielding to I/O between broadcasts as a real server would.
      for (let i = 1; i <= count; i++) {
        await broadcast(i);
        if (cmd === 'BURST') await new Promise((r) => setImmediate(r));
      }
      process.stdout.write(`SENT ${JSON.stringify({ t0, t1: Date.now() })}\n`);
    }
  }
}

// ------------------------------------------------------------------------------------ load clients
async function clients(kind, port, count) {
  hardTimeout(270_000, 'fanout clients');
  const { default: WebSocket } = await import('ws');
  const lat = [];
  let received = 0;
  let first = 0;
  let last = 0;
  const onMsg = (ts) => {
    const now = Date.now();
    if (!first) first = now;
    last = now;
    received++;
    lat.push(now - ts);
  };
  const open1 = () =>
    new Promise((resolve, reject) => {
      const url = kind.startsWith('sdk-realtime')
        ? `ws://127.0.0.1:${port}/ws`
        : kind === 'ws'
          ? `ws://127.0.0.1:${port}`
          : `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.on('error', reject);
      if (kind === 'ws') {
        ws.on('open', () => resolve(ws));
        ws.on('message', (raw) => onMsg(JSON.parse(String(raw)).ts));
      } else if (kind.startsWith('sdk-realtime')) {
        ws.on('open', () => ws.send(JSON.stringify({ t: 'connect', id: 1, v: 1, app: 'bench' })));
        ws.on('message', (raw) => {
          const s = String(raw);
          if (s.startsWith('{"t":"msg"')) return onMsg(JSON.parse(s).ts);
          const f = JSON.parse(s);
          if (f.t === 'ping') ws.send('{"t":"pong"}');
          else if (f.t === 'reply' && f.id === 1) ws.send(JSON.stringify({ t: 'sub', id: 2, topic: TOPIC }));
          else if (f.t === 'reply' && f.id === 2) resolve(ws);
          else if (f.t === 'reply' && f.error) reject(new Error(f.error.code));
        });
      } else if (kind.startsWith('bridge')) {
        // Namespace /bench (the app), then `subscribe` with an ack; count `dataUpdate` only (the
        // bridge also emits an event named after the topic, the second packet of each delivery).
        ws.on('message', (raw) => {
          const s = String(raw);
          if (s.startsWith('42/bench,["dataUpdate"')) return onMsg(JSON.parse(s.slice(9))[1].ts);
          if (s.startsWith('42/bench,')) return;
          if (s === '2') ws.send('3');
          else if (s.startsWith('0')) ws.send('40/bench,');
          else if (s.startsWith('40/bench,')) ws.send(`42/bench,1${JSON.stringify(['subscribe', [TOPIC]])}`);
          else if (s.startsWith('43/bench,1')) resolve(ws);
          else if (s.startsWith('44/bench,')) reject(new Error(s));
        });
      } else {
        ws.on('message', (raw) => {
          const s = String(raw);
          if (s.startsWith('42')) return onMsg(JSON.parse(s.slice(2))[1].ts);
          if (s === '2') ws.send('3'); // engine.io ping → pong
          else if (s.startsWith('0')) ws.send('40'); // engine.io open → socket.io namespace connect
          else if (s.startsWith('40')) resolve(ws);
        });
      }
    });
  const socks = [];
  const t0 = Date.now();
  for (let i = 0; i < count; i += WAVE) socks.push(...(await Promise.all(Array.from({ length: Math.min(WAVE, count - i) }, open1))));
  process.stdout.write(`READY ${JSON.stringify({ connectMs: Date.now() - t0 })}\n`);
  const report = async (prefix, expected) => {
    const deadline = Date.now() + 60_000;
    while (received < expected && Date.now() < deadline) await sleep(5);
    // Large line: wait until the pipe took it (process.exit would cut it short).
    await new Promise((r) => process.stdout.write(`${prefix} ${JSON.stringify({ received, first, last, lat })}\n`, r));
    lat.length = 0;
    received = 0;
    first = last = 0;
  };
  await report('ONE', count);
  await report('BURST', count * BURST);
  for (const s of socks) s.terminate();
  process.exit(0);
}

// ------------------------------------------------------------------------------------ orchestrator
function checkFdLimit() {
  try {
    const soft = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
    if (CONNS + 100 > soft) console.log(`note: ulimit -n is ${soft}, below ${CONNS + 100}: raise it (ulimit -n) or expect connection failures`);
  } catch {
    // no shell: go ahead
  }
}

const stats = (lat) => {
  const s = Float64Array.from(lat).sort();
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
};

async function one(kind) {
  const nodes = kind.endsWith('+redis') ? NODES : 1;
  const servers = Array.from({ length: nodes }, () => run(SELF, ['server', kind], { stdin: 'pipe', timeoutMs: 290_000 }));
  const ports = await Promise.all(servers.map(async (s) => (await s.lines.next('PORT')).split(' ')[1]));
  const [srv] = servers;
  const per = Math.ceil(CONNS / PROCS);
  const procs = Array.from({ length: PROCS }, (_, i) =>
    run(SELF, ['clients', kind, ports[i % nodes], String(Math.min(per, CONNS - i * per))], { timeoutMs: 280_000 }),
  );
  const ready = await Promise.all(procs.map((p) => p.lines.next('READY')));
  const connectMs = Math.max(...ready.map((l) => JSON.parse(l.slice(6)).connectMs));
  await sleep(1000); // let connect-time work (timers, presence) settle
  srv.stdin.write('ONE 1\n');
  const sentOne = JSON.parse((await srv.lines.next('SENT')).slice(5));
  const ones = (await Promise.all(procs.map((p) => p.lines.next('ONE')))).map((l) => JSON.parse(l.slice(4)));
  srv.stdin.write(`BURST ${BURST}\n`);
  const sentBurst = JSON.parse((await srv.lines.next('SENT')).slice(5));
  const bursts = (await Promise.all(procs.map((p) => p.lines.next('BURST')))).map((l) => JSON.parse(l.slice(6)));
  for (const s of servers) s.stdin.write('CPU\n');
  const cpuMicros = (await Promise.all(servers.map((s) => s.lines.next('CPU')))).reduce((a, l) => a + Number(l.split(' ')[1]), 0);
  for (const s of servers) s.stdin.write('EXIT\n');
  await Promise.all([...procs, ...servers].map(exited));
  const delivered = bursts.reduce((a, b) => a + b.received, 0);
  const lastAt = Math.max(...bursts.map((b) => b.last));
  return {
    kind: nodes > 1 ? `${kind} (${nodes} nodes)` : kind,
    connectMs,
    one: { received: ones.reduce((a, b) => a + b.received, 0), ...stats(ones.flatMap((o) => o.lat)), sendMs: sentOne.t1 - sentOne.t0 },
    burst: {
      delivered,
      perSec: Math.round((delivered / (lastAt - sentBurst.t0)) * 1000),
      cpuPerDelivery: cpuMicros / delivered,
      ...stats(bursts.flatMap((b) => b.lat)),
    },
  };
}

async function main() {
  checkFdLimit();
  const results = [];
  let redis;
  if (KINDS.some((k) => k.endsWith('+redis')) && !process.env.BENCH_REDIS_URL) {
    redis = await startRedisServer();
    process.env.BENCH_REDIS_URL = redis.url;
  }
  try {
    for (const kind of KINDS) results.push(await one(kind));
  } finally {
    await redis?.kill();
  }
  const spread = NODES > 1 ? `; \`+redis\` kinds on ${NODES} server processes, broadcasts sent on the first` : '';
  console.log(`\n## Server fan-out\n\n${CONNS} connections from ${PROCS} client processes, one topic/room; one broadcast, then ${BURST} back to back${spread}; ${machine()}\n`);
  console.log('| server | connect all (s) | 1 broadcast: delivered | server publish call ms | p50 ms | p99 ms | max ms | burst: deliveries/s | burst p50 ms | burst p99 ms | burst: server CPU µs/delivery |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.kind} | ${(r.connectMs / 1000).toFixed(1)} | ${r.one.received}/${CONNS} | ${r.one.sendMs} | ${r.one.p50} | ${r.one.p99} | ${r.one.max} | ${r.burst.perSec.toLocaleString('en')} (${r.burst.delivered}/${CONNS * BURST}) | ${r.burst.p50} | ${r.burst.p99} | ${r.burst.cpuPerDelivery.toFixed(2)} |`,
    );
  }
}

const [role, a, b, c] = process.argv.slice(2);
if (role === 'server') await server(a);
else if (role === 'clients') await clients(a, Number(b), Number(c));
else await main();
