import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The CLI is tested as users run it: the built bin (npm test builds first, see "pretest").
export const CLI = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url));

const killers = new Set<() => Promise<void>>();

/** Kill every CLI server started by {@link serve}. Call from `afterEach`. */
export function stopServers(): void {
  for (const kill of killers) void kill();
  killers.clear();
}

/** A running CLI server process. */
export interface CliServer {
  port: number;
  httpUrl: string;
  wsUrl: string;
  output: () => string;
  /** SIGKILL (a crash); resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful stop); resolves when the process is gone. */
  stop(): Promise<void>;
}

/** Start `sdk-realtime-server serve ...args` and wait for it to print its HTTP URL. */
export async function startCli(args: string[]): Promise<CliServer> {
  if (!existsSync(CLI)) throw new Error('server/dist/cli.js is missing: run `npm run build` (npm test does)');
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const start = Date.now();
  while (!/http:\/\/[\w.]+:\d+/.test(out)) {
    if (Date.now() - start > 10_000 || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`CLI did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = Number(/http:\/\/[\w.]+:(\d+)/.exec(out)![1]);
  const end = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    output: () => out,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

/** {@link startCli}, killed by {@link stopServers}. */
export async function serve(args: string[]): Promise<CliServer> {
  const server = await startCli(args);
  killers.add(server.kill);
  return server;
}

/** A token from a dev server's `POST /dev/token`. */
export async function devToken(httpUrl: string, body: { app: string; user: string; device?: string }): Promise<string> {
  const res = await fetch(httpUrl + '/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST /dev/token: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}
