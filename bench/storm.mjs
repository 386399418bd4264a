// bench/storm.mjs — a reconnect storm on a cluster: NODES server processes on one Redis behind a
// round-robin TCP balancer, CLIENTS real sdk-realtime clients (in PROCS processes) subscribed to
// TOPICS topics each; while messages flow, the first node is SIGKILLed, so its clients (1/NODES of
// them) reconnect at once (jittered backoff) through the balancer to the others and recover.
// Measured: per moved client, time from the kill to its last topic's `subscribed` with
// `recovered: true` (p50/p99/max), the share recovered, and that no message was lost or repeated.
//
//   node bench/storm.mjs     env: CLIENTS=2000 PROCS=2 NODES=3 TOPICS=3 RATE=100
//
// Loopback only; starts its own redis-server (or BENCH_REDIS_URL); every process exits by itself.
import { fileURLToPath } from 'node:url';
import { startBalancer, startRedisServer } from '../scripts/local-cluster.mjs';
import { exited, hardTimeout, machine, num, percentile, run, sleep } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const CLIENTS = num('CLIENTS', 2000);
const PROCS = num('PROCS', 2);
const NODES = num('NODES', 3);
const TOPICS = num('TOPICS', 3);
const RATE = num('RATE', 100);
const SECRET = 'bench-secret-0123456789abcdef0123456789';
const ROOMS = 50;

// ------------------------------------------------------------------------------------ a node
async function node(redisUrl) {
  hardTimeout(170_000, 'storm node');
  const { createServer, redisBroker } = await import('../server/dist/index.js');
  const s = await createServer({
    port: 0,
    host: '127.0.0.1',
    allowAnonymous: true,
    jwtSecret: SECRET,
    logger: false,
    rateLimit: { frames: 1_000_000, per: 1000 },
    maxConnections: 1_000_000,
    maxConnectionsPerIp: 1_000_000,
    broker: redisBroker({ url: redisUrl }),
  });
  process.stdout.write(`PORT ${s.port}\n`);
  process.stdin.setEncoding('utf8');
  // The publisher: RATE messages/s over ROOMS topics, numbered per topic, until EXIT.
  let publishing = false;
  const counts = new Array(ROOMS).fill(0);
  for await (const chunk of process.stdin) {
    for (const line of chunk.split('\n').filter(Boolean)) {
      if (line === 'EXIT') {
        await new Promise((r) => process.stdout.write(`SENT ${JSON.stringify(counts)}\n`, r));
        process.exit(0);
      }
      if (line === 'PUBLISH' && !publishing) {
        publishing = true;
        void (async () => {
          for (let i = 0; publishing; i++) {
            const room = i % ROOMS;
            await s.publish('bench', { eventTopics: [`room:${room}`], data: { n: ++counts[room] } }).catch(() => counts[room]--);
            await sleep(1000 / RATE);
          }
        })();
      }
      if (line === 'STOP') publishing = false;
    }
  }
}

// ------------------------------------------------------------------------------------ clients
async function clients(url, count, offset) {
  hardTimeout(160_000, 'storm clients');
  const { createClient } = await import('../dist/index.js');
  const list = [];
  for (let i = 0; i < count; i++) {
    const c = createClient({ url, app: 'bench', reconnect: { floor: 100, ceiling: 2000 }, heartbeat: false });
    const me = { c, topics: [], seqs: new Map(), lastRecovered: 0, subscribedAt: [], recovered: [], disconnectedAt: 0, moved: false };
    for (let k = 0; k < TOPICS; k++) {
      const topic = `room:${(offset + i + k * 17) % ROOMS}`;
      if (me.topics.includes(topic)) continue;
      me.topics.push(topic);
      me.seqs.set(topic, []);
      c.subscribe(topic, (m) => me.seqs.get(topic).push(m.data.n), {
        onSubscribed: (r) => {
          me.recovered.push(r.recovered);
          me.subscribedAt.push(Date.now());
        },
      });
    }
    c.on('disconnected', () => {
      if (!me.disconnectedAt) me.disconnectedAt = Date.now();
      me.moved = true;
    });
    list.push(me);
    c.connect();
  }
  const ready = () => list.every((m) => m.recovered.length >= m.topics.length);
  while (!ready()) await sleep(20);
  process.stdout.write(`READY\n`);
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    if (!chunk.includes('REPORT')) continue;
    const moved = list.filter((m) => m.moved);
    const report = {
      clients: list.length,
      moved: moved.length,
      // Per moved client: from its disconnect to its last topic subscribed again.
      recoverMs: moved.map((m) => Math.max(...m.subscribedAt.slice(-m.topics.length)) - m.disconnectedAt),
      notRecovered: moved.filter((m) => m.recovered.slice(m.topics.length).some((r) => !r)).length,
      seqs: list.map((m) => [...m.seqs].map(([t, s]) => [t, s])),
    };
    await new Promise((r) => process.stdout.write(`REPORT ${JSON.stringify(report)}\n`, r));
    for (const m of list) m.c.close();
    process.exit(0);
  }
}

// ------------------------------------------------------------------------------------ orchestrator
async function main() {
  hardTimeout(180_000, 'storm');
  const redis = process.env.BENCH_REDIS_URL ? { url: process.env.BENCH_REDIS_URL, kill: async () => {} } : await startRedisServer();
  try {
    const nodes = Array.from({ length: NODES }, () => run(SELF, ['node', redis.url], { stdin: 'pipe', timeoutMs: 175_000 }));
    const ports = await Promise.all(nodes.map(async (n) => Number((await n.lines.next('PORT')).split(' ')[1])));
    const live = [...ports];
    const lb = await startBalancer(() => live);
    const url = lb.url;
    const per = Math.ceil(CLIENTS / PROCS);
    const procs = Array.from({ length: PROCS }, (_, i) =>
      run(SELF, ['clients', url, String(Math.min(per, CLIENTS - i * per)), String(i * per)], { stdin: 'pipe', timeoutMs: 170_000 }),
    );
    const t0 = Date.now();
    await Promise.all(procs.map((p) => p.lines.next('READY')));
    const connectMs = Date.now() - t0;
    // Publish from the last node (it survives), let traffic flow, then kill the first node.
    const publisher = nodes[NODES - 1];
    publisher.stdin.write('PUBLISH\n');
    await sleep(2000);
    live.splice(0, 1);
    nodes[0].kill('SIGKILL');
    const killedAt = Date.now();
    await sleep(8000);
    publisher.stdin.write('STOP\n');
    await sleep(1500);
    for (const p of procs) p.stdin.write('REPORT\n');
    const reports = (await Promise.all(procs.map((p) => p.lines.next('REPORT')))).map((l) => JSON.parse(l.slice(7)));
    for (const n of nodes.slice(1)) n.stdin.write('EXIT\n');
    const sent = JSON.parse((await publisher.lines.next('SENT')).slice(5));
    await Promise.all([...procs, ...nodes.slice(1)].map(exited));
    await lb.close();
    // Every client: each of its topics exactly 1..(that topic's count), in order.
    let lost = 0;
    let dupes = 0;
    for (const r of reports)
      for (const client of r.seqs)
        for (const [topic, seqs] of client) {
          const total = sent[Number(topic.split(':')[1])];
          const got = new Set(seqs);
          dupes += seqs.length - got.size;
          for (let n = 1; n <= total; n++) if (!got.has(n)) lost++;
        }
    const recover = Float64Array.from(reports.flatMap((r) => r.recoverMs)).sort();
    const moved = reports.reduce((a, r) => a + r.moved, 0);
    const notRecovered = reports.reduce((a, r) => a + r.notRecovered, 0);
    console.log(`\n## Reconnect storm\n\n${CLIENTS} clients × ${TOPICS} topics over ${NODES} nodes on one Redis behind a round-robin balancer, ${RATE} msg/s; the first node SIGKILLed ${Math.round((killedAt - t0) / 1000)} s in; ${machine()}\n`);
    console.log('| connect all (s) | clients moved | recovered p50 ms | p99 ms | max ms | not recovered | messages lost | duplicates |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(
      `| ${(connectMs / 1000).toFixed(1)} | ${moved}/${CLIENTS} | ${percentile(recover, 50)} | ${percentile(recover, 99)} | ${recover[recover.length - 1]} | ${notRecovered} | ${lost} | ${dupes} |`,
    );
  } finally {
    await redis.kill();
  }
}

const [role, a, b, c] = process.argv.slice(2);
if (role === 'node') await node(a);
else if (role === 'clients') await clients(a, Number(b), Number(c));
else await main();
