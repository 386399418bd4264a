import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The CLI is tested as users run it: the built bin (npm test builds first, see "pretest").
export const CLI = fileURLToPath(new URL('../../server/dist/cli.js', import.meta.url));

const children = new Set<ChildProcess>();

/** Kill every CLI server started by {@link serve}. Call from `afterEach`. */
export function stopServers(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** Start `sdk-realtime-server serve ...args` and wait for it to print its HTTP URL. */
export async function serve(args: string[]): Promise<{ httpUrl: string; wsUrl: string; output: () => string }> {
  if (!existsSync(CLI)) throw new Error('server/dist/cli.js is missing: run `npm run build` (npm test does)');
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const start = Date.now();
  while (!/http:\/\/[\w.]+:\d+/.test(out)) {
    if (Date.now() - start > 10_000 || child.exitCode !== null) throw new Error(`CLI did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = /http:\/\/[\w.]+:(\d+)/.exec(out)![1];
  return { httpUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`, output: () => out };
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
