// bench/lib.mjs — helpers shared by the benchmarks: child processes with a hard timeout, line
// protocol between orchestrator and children, statistics, and machine info for the reports.
import { spawn } from 'node:child_process';
import os from 'node:os';

export const num = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawn `node [nodeArgs] script ...args`; killed after `timeoutMs` whatever happens. */
export function run(script, args, { nodeArgs = [], timeoutMs = 120_000, env, stdin = 'ignore' } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    stdio: [stdin, 'pipe', 'inherit'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  child.on('exit', () => clearTimeout(timer));
  child.lines = lineReader(child);
  return child;
}

/** An async `next(prefix)` over a child's stdout lines. */
function lineReader(child) {
  const queue = [];
  let waiter = null;
  let buf = '';
  let ended = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      queue.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    waiter?.();
  });
  child.stdout.on('end', () => {
    ended = true;
    waiter?.();
  });
  return {
    async next(prefix) {
      for (;;) {
        const idx = queue.findIndex((l) => l.startsWith(prefix));
        if (idx >= 0) return queue.splice(0, idx + 1).pop();
        if (ended) throw new Error(`process ended before a line starting with "${prefix}"`);
        await new Promise((r) => (waiter = r));
        waiter = null;
      }
    },
  };
}

export const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

export const machine = () => `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), node ${process.version}, ${os.platform()} ${os.release()}`;

/** Kill this process after `ms` (a safety net: every benchmark process exits by itself). */
export function hardTimeout(ms, what) {
  setTimeout(() => {
    console.error(`${what}: hard timeout after ${ms} ms`);
    process.exit(2);
  }, ms).unref();
}

/**
 * Start the built reference server for a benchmark: loopback, anonymous clients, no logs, rate
 * limits (frame rate, connection caps) out of the way (a benchmark is the abuse the limits exist for); `options` add or override.
 */
export async function startReferenceServer(options = {}) {
  const { createServer } = await import('../server/dist/index.js');
  return createServer({
    port: 0,
    host: '127.0.0.1',
    allowAnonymous: true,
    jwtSecret: 'bench-secret-0123456789abcdef0123456789',
    logger: false,
    rateLimit: { frames: 1_000_000, per: 1000 },
    // The fan-out benchmark opens 10,000 connections from one address.
    maxConnections: 1_000_000,
    maxConnectionsPerIp: 1_000_000,
    ...options,
  });
}
