import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README claims', () => {
  it('states the client core bundle budget that size-limit enforces', async () => {
    // @ts-expect-error: a plain ES module config without declarations
    const budgets = (await import('../../.size-limit.js')).default as { name: string; limit: string }[];
    const core = budgets.find((b) => b.name.startsWith('client core'));
    const stated = /Client core: under ([\d.]+ KiB) min\+gzip/.exec(readme)?.[1];
    expect(stated, 'README: "Client core: under N KiB min+gzip"').toBeDefined();
    expect(stated).toBe(core?.limit);
  });
});
