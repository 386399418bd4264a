import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findChromium } from './find-chromium';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A directory holding an executable file `name`. */
function binDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sdk-realtime-bin-'));
  dirs.push(dir);
  writeFileSync(join(dir, name), '#!/bin/sh\n');
  chmodSync(join(dir, name), 0o755);
  return dir;
}

/** `vitest run` of one small file under `env` (the config decides about test/browser/). */
function vitest(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'CI'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', 'test/protocol/codec.test.ts'],
      { cwd: ROOT, env: { ...clean, NO_COLOR: '1', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

describe('finding Chromium for the browser tests', () => {
  it('uses CHROMIUM_PATH when set, and only it', () => {
    const dir = binDir('my-chrome');
    expect(findChromium({ CHROMIUM_PATH: join(dir, 'my-chrome') }).path).toBe(join(dir, 'my-chrome'));
    expect(findChromium({ CHROMIUM_PATH: '/nonexistent', PATH: binDir('chromium') })).toEqual({
      path: undefined,
      looked: 'CHROMIUM_PATH=/nonexistent',
    });
  });

  it('falls back to the known paths, then chromium / chromium-browser on PATH', () => {
    const known = binDir('chromium');
    expect(findChromium({ PATH: '' }, [join(known, 'chromium')]).path).toBe(join(known, 'chromium'));
    const onPath = binDir('chromium-browser');
    expect(findChromium({ PATH: `/nonexistent:${onPath}` }, []).path).toBe(join(onPath, 'chromium-browser'));
    expect(findChromium({ PATH: '/nonexistent' }, []).path).toBeUndefined();
  });

  it('without Chromium, npm test skips test/browser/ with one line; under CI it fails the run', async () => {
    const local = await vitest({ CHROMIUM_PATH: '/nonexistent' });
    expect(local.code, local.output).toBe(0);
    const lines = local.output.split('\n').filter((l) => l.includes('no Chromium found'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/skipped.*apt-get install chromium.*CHROMIUM_PATH/);

    const ci = await vitest({ CHROMIUM_PATH: '/nonexistent', CI: '1' });
    expect(ci.code).not.toBe(0);
    expect(ci.output).toMatch(/CI is set and no Chromium found .*cannot run/);
  }, 60_000);
});
