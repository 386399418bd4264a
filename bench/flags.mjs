// bench/flags.mjs — a flag edit through the admin API (`PUT /api/flags/:key`) → every affected
// client's `change` callback (sdk-realtime/flags over the realtime connection), latency p50/p99/max.
//
//   npm run build && node bench/flags.mjs      env: CLIENTS=1000 PROCS=2 EDITS=5 WAVE=100
//
// The reference server runs in its own process with a flag targeting every user; CLIENTS real
// clients (createClient + createFlags) in PROCS processes each report when their `change`
// callback ran. Latency = callback time − the time the PUT was sent (same machine, same clock,
// ms resolution). Each edit flips the flag's value for everyone, so every client is notified.
// Loopback only; every process exits by itself.
import { fileURLToPath } from 'node:url';
import { hardTimeout, machine, num, percentile, run, sleep, startReferenceServer } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const CLIENTS = num('CLIENTS', 1000);
const PROCS = num('PROCS', 2);
const EDITS = num('EDITS', 5);
const WAVE = num('WAVE', 100);
const API_KEY = 'bench-api-key-0123456789';
const flag = (value) => ({ key: 'checkout', enabled: true, value });

async function server() {
  hardTimeout(170_000, 'flags server');
  const s = await startReferenceServer({ apiKey: API_KEY, flags: { definitions: [flag(0)] } });
  process.stdout.write(`PORT ${s.port}\n`);
}

async function clients(port, count) {
  hardTimeout(160_000, 'flags clients');
  const { createClient } = await import('../dist/index.js');
  const { createFlags } = await import('../dist/flags/index.js');
  const { SignJWT } = await import('jose');
  const secret = new TextEncoder().encode('bench-secret-0123456789abcdef0123456789');
  let changes = [];
  const open = async (i) => {
    const token = await new SignJWT({ sub: `u${process.pid}-${i}`, app: 'bench' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(secret);
    const client = createClient({ url: `ws://127.0.0.1:${port}/ws`, app: 'bench', token });
    const flags = createFlags(client, { defaults: { checkout: -1 } });
    client.on('error', (e) => process.stderr.write(`client error: ${e.code} ${e.message}\n`));
    client.connect();
    await flags.ready;
    flags.on('change', () => changes.push(Date.now()));
  };
  for (let i = 0; i < count; i += WAVE) await Promise.all(Array.from({ length: Math.min(WAVE, count - i) }, (_, j) => open(i + j)));
  process.stdout.write('READY\n');
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    for (const line of chunk.split('\n').filter(Boolean)) {
      if (line === 'EXIT') process.exit(0);
      const deadline = Date.now() + 10_000;
      while (changes.length < count && Date.now() < deadline) await sleep(5);
      await new Promise((r) => process.stdout.write(`CHANGES ${JSON.stringify(changes)}\n`, r));
      changes = [];
    }
  }
}

async function main() {
  const srv = run(SELF, ['server'], { timeoutMs: 180_000 });
  const port = (await srv.lines.next('PORT')).split(' ')[1];
  const per = Math.ceil(CLIENTS / PROCS);
  const procs = Array.from({ length: PROCS }, (_, i) => run(SELF, ['clients', port, String(Math.min(per, CLIENTS - i * per))], { timeoutMs: 170_000, stdin: 'pipe' }));
  await Promise.all(procs.map((p) => p.lines.next('READY')));
  await sleep(500);
  const rows = [];
  for (let e = 1; e <= EDITS; e++) {
    const sentAt = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/api/flags/checkout`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(flag(e)),
    });
    if (!res.ok) throw new Error(`PUT answered ${res.status}: ${await res.text()}`);
    for (const p of procs) p.stdin.write('REPORT\n');
    const all = (await Promise.all(procs.map((p) => p.lines.next('CHANGES')))).flatMap((l) => JSON.parse(l.slice(8)));
    const lat = Float64Array.from(all.map((t) => t - sentAt)).sort();
    rows.push({ notified: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] });
    await sleep(300);
  }
  for (const p of procs) p.stdin.write('EXIT\n');
  srv.kill();
  console.log(`\n## Flag edit → change callbacks\n\n${CLIENTS} clients in ${PROCS} processes, ${EDITS} edits via PUT /api/flags/:key; ${machine()}\n`);
  console.log('| edit | clients notified | p50 ms | p99 ms | max ms |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  rows.forEach((r, i) => console.log(`| ${i + 1} | ${r.notified}/${CLIENTS} | ${r.p50} | ${r.p99} | ${r.max} |`));
}

const [role, a, b] = process.argv.slice(2);
if (role === 'server') await server();
else if (role === 'clients') await clients(Number(a), Number(b));
else await main();
