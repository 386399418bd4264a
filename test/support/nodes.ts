import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { API_KEY, JWT_SECRET } from './harness';

const CLI = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url));

/** One real server process (the built CLI), a node of a cluster on Redis. */
export interface ServerNode {
  port: number;
  httpUrl: string;
  url: string;
  /** SIGKILL: a crash, no goodbye to clients or Redis. */
  kill(): Promise<void>;
  /** SIGTERM: a graceful stop. */
  stop(): Promise<void>;
  output(): string;
}

/** Start `sdk-realtime-server serve --redis <url>` on a free port and wait until it listens. */
export async function startNode(redisUrl: string, extraArgs: string[] = []): Promise<ServerNode> {
  if (!existsSync(CLI)) throw new Error('server/dist/cli.js is missing: run `npm run build` (npm test does)');
  const args = [CLI, 'serve', '--port', '0', '--redis', redisUrl, '--jwt-secret', JWT_SECRET, '--api-key', API_KEY, '--any-app', ...extraArgs];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const start = Date.now();
  while (!/http:\/\/[\w.]+:\d+/.test(out)) {
    if (Date.now() - start > 10_000 || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`server node did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = Number(/http:\/\/[\w.]+:(\d+)/.exec(out)![1]);
  const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  return {
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    url: `ws://127.0.0.1:${port}/ws`,
    output: () => out,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A round-robin TCP balancer in front of the nodes (see scripts/local-cluster.mjs). */
export { startBalancer } from '../../scripts/local-cluster.mjs';
