import { TextEncoder as NodeTextEncoder } from 'node:util';

/**
 * Under vitest's jsdom environment `Uint8Array` is jsdom's, while Node's `TextEncoder` returns
 * Node's: `jose` (token signing in the tests and in the real server) then refuses the key. Import
 * this first in jsdom test files that talk to the real server.
 */
const encoder = new NodeTextEncoder();
globalThis.TextEncoder = class {
  readonly encoding = 'utf-8';
  encode(input = '') {
    return new Uint8Array(encoder.encode(input));
  }
  encodeInto(input: string, dest: Uint8Array) {
    return encoder.encodeInto(input, dest);
  }
} as unknown as typeof TextEncoder;
