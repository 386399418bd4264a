import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import type { Publication } from '../../src/protocol/frames';
import { cleanup, client, waitForState } from '../support/harness';
import { devToken, serve, stopServers } from '../support/cli';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];

afterEach(async () => {
  await cleanup();
  stopServers();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The first ```ts block of README.md under `heading` (up to the next heading of that level). */
function sampleUnder(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}" section`);
  const level = heading.split(' ')[0]!;
  const end = markdown.indexOf(`\n${level} `, start + heading.length + 2);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const block = /```ts\n([\s\S]*?)\n```/.exec(section);
  if (!block) throw new Error(`README.md "${heading}" has no \`\`\`ts block`);
  return block[1]!;
}

/** Replace `from` (which must occur exactly once, or the README drifted) by `to`. */
function adapt(code: string, from: string, to: string): string {
  const parts = code.split(from);
  if (parts.length !== 2) throw new Error(`the README sample should contain ${JSON.stringify(from)} once; found ${parts.length - 1}`);
  return parts.join(to);
}

/** Run `code` as an ES module with Node in a scratch app that has `sdk-realtime` (this repository) installed. */
async function runAsApp(code: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sdk-realtime-readme-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'sdk-realtime'), 'dir');
  const file = join(dir, 'sample.mjs');
  writeFileSync(file, (await transform(code, { loader: 'ts', format: 'esm', target: 'node20' })).code);
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd: dir, timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('README.md', () => {
  it('the "## Client" sample runs as written against the dev server (npm start), publish and time RPC included', async () => {
    const sample = sampleUnder(readFileSync(join(ROOT, 'README.md'), 'utf8'), '## Client');
    const server = await serve(['--port', '0', '--dev']);

    // A second client, the way another user would see the sample's publish.
    const watcher = client({
      url: server.wsUrl,
      app: 'ecommerce-app',
      token: await devToken(server.httpUrl, { app: 'ecommerce-app', user: 'watcher' }),
    });
    const lobby: Publication[] = [];
    watcher.subscribe('room:lobby', (m) => lobby.push(m));
    watcher.connect();
    await waitForState(watcher, 'connected');

    // Only where the sample talks to your infrastructure: the server URL and your token endpoint
    // (here the dev server's POST /dev/token, which answers { token }).
    let code = adapt(sample, "'wss://realtime.example.com/ws'", JSON.stringify(server.wsUrl));
    code = adapt(
      code,
      "(await fetch('/api/realtime-token')).text()",
      `(await (await fetch(${JSON.stringify(server.httpUrl + '/dev/token')}, { method: 'POST', ` +
        `body: JSON.stringify({ app: 'ecommerce-app', user: 'user-567', device: 'mobile-ios-001' }) })).json()).token`,
    );
    // Show what the sample's last values were, without changing what it does.
    code += '\nconsole.log("time result:", JSON.stringify(now));\n';

    const run = await runAsApp(code);
    expect(run.stderr, run.stdout).toBe('');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('connection: connecting');
    expect(run.stdout).toContain('connection: connected');
    expect(run.stdout).toContain('connection: closed');
    expect(JSON.parse(/time result: (.*)/.exec(run.stdout)![1]!)).toEqual({ now: expect.any(Number) });
    await expect.poll(() => lobby.map((m) => m.data)).toEqual([{ text: 'hello' }]);
  });
});
