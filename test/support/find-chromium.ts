import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where the browser tests look for Chromium, first hit wins (without `CHROMIUM_PATH`). */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const ON_PATH = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The Chromium the browser tests drive: `CHROMIUM_PATH` when set (and only it: a wrong path is not
 * silently replaced), else `candidates` (Debian's `/usr/bin/chromium`, ...), else `chromium`, `chromium-browser` or
 * `google-chrome` on `PATH`. `path` is `undefined` when there is none; `looked` says where it looked.
 */
export function findChromium(
  env: NodeJS.ProcessEnv = process.env,
  candidates = CANDIDATES,
): { path: string | undefined; looked: string } {
  if (env.CHROMIUM_PATH) {
    return { path: executable(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined, looked: `CHROMIUM_PATH=${env.CHROMIUM_PATH}` };
  }
  for (const file of candidates) if (executable(file)) return { path: file, looked: file };
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    for (const name of ON_PATH) if (dir && executable(join(dir, name))) return { path: join(dir, name), looked: 'PATH' };
  }
  return { path: undefined, looked: `${candidates.join(', ')} and ${ON_PATH.join('/')} on PATH` };
}

/** The one line printed when the browser tests are skipped (or, under CI, fail the run). */
export const missingChromium = (looked: string) =>
  `no Chromium found (looked at ${looked}): the browser tests (test/browser/) are skipped. ` +
  'Install it (Debian/Ubuntu: `apt-get install chromium`) or set CHROMIUM_PATH to a Chromium or Chrome binary.';
