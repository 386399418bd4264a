import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { findChromium, missingChromium } from './find-chromium';

// Debian's Chromium, installed by .ci/run (`apt-get install -y chromium`). Without one, vitest.config.ts
// leaves test/browser/ out (and fails the run under CI), so these files only run when it was found.
const found = findChromium();

/**
 * Launch headless Chromium for browser tests. The flags keep it off the network (this machine has
 * none) so it starts fast and only talks to 127.0.0.1.
 */
export function launchChromium(): Promise<Browser> {
  if (!found.path) throw new Error(missingChromium(found.looked));
  return chromium.launch({
    executablePath: found.path,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Chromium for the tests of one file: launched before them, closed after them. */
export function chromiumForFile(): { readonly browser: Browser } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get browser(): Browser {
      if (!browser) throw new Error('Chromium is not running (used outside the tests of the file?)');
      return browser;
    },
  };
}
