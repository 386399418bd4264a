// npm run bench: every benchmark in bench/, one after another (each bounded, loopback only).
// BENCH=recv-peers,sizes runs a subset. Each script has its own env knobs (see its header);
// docs/benchmarks.md has the figures and how to read them.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
// recv-peers.mjs: raw ws vs sdk-realtime plus socket.io-client and partysocket in the same run.
const all = ['recv-peers', 'rtt', 'mem', 'sizes', 'fanout', 'flags', 'telemetry-ingest'];
const only = process.env.BENCH ? process.env.BENCH.split(',') : all;
for (const name of only) {
  const started = Date.now();
  const { status } = spawnSync(process.execPath, [here(`${name}.mjs`)], { stdio: 'inherit' });
  console.log(`\n(${name}: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  if (status !== 0) process.exit(status ?? 1);
}
