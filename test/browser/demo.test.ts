import { afterAll, describe, expect, it } from 'vitest';
import { chromiumForFile } from '../support/browser';
import { API_KEY, cleanup, startServer } from '../support/harness';

// The demo page of `npm start`, in real Chromium, on the built client bundle (npm test builds first).
const chrome = chromiumForFile();
afterAll(cleanup);

describe('demo page (npm start)', () => {
  it('connects, shows the online count and receives a /notify posted from its own form', async () => {
    const server = await startServer({ dev: true, demo: true } as never);
    const page = await chrome.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.httpUrl + '/');

    await page.click('#connect');
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected', null, { timeout: 5000 });
    await page.waitForFunction(() => document.getElementById('count')?.textContent?.startsWith('1 users'), null, { timeout: 5000 });

    await page.fill('#nKey', API_KEY);
    await page.fill('#nData', '{"type":"hello","text":"from the browser test"}');
    await page.click('#notifyForm button');
    await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('from the browser test'), null, {
      timeout: 5000,
    });
    expect(await page.textContent('#nResult')).toMatch(/^200 /);

    // Disconnect right after adding a topic (its sub and watch unanswered) and removing one (its
    // unsub unanswered): a normal close logs no error line.
    await page.fill('#topic', 'second');
    await page.click('#subForm button');
    await page.click('#topics li button');
    await page.click('#disconnect');
    await page.waitForTimeout(300);
    expect(await page.textContent('#state')).toBe('closed');
    expect(await page.textContent('#log')).not.toContain('error');
    expect(errors).toEqual([]);
    await page.close();
  });
});
