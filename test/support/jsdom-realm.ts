import { TextEncoder as NodeTextEncoder } from 'node:util';

/**
 * Vitest setup file (vitest.config.ts). Under the jsdom environment `Uint8Array` is jsdom's, while
 * Node's `TextEncoder` returns Node's: `jose` (token signing in the tests and in the real server)
 * then refuses the key. Only jsdom test files are touched.
 */
const encoder = new NodeTextEncoder();
if (typeof window !== 'undefined') globalThis.TextEncoder = class {
  readonly encoding = 'utf-8';
  encode(input = '') {
    return new Uint8Array(encoder.encode(input));
  }
  encodeInto(input: string, dest: Uint8Array) {
    return encoder.encodeInto(input, dest);
  }
} as unknown as typeof TextEncoder;
