import { PassThrough } from 'node:stream';
import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { describe, expect, it } from 'vitest';
import { textFrame, writeFrame } from '../../server/src/connection/wire';

/** ws's frame parser: exported at runtime as `Receiver`, not declared by @types/ws. */
const { Receiver } = ws as unknown as { Receiver: new (options: object) => Writable };

/**
 * Parse `bytes` with ws's own client-side frame parser and settle once the next task starts: the
 * text messages in it, or what was wrong (a truncated frame never completes, it does not hang).
 */
function parse(bytes: Buffer, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false, maxPayload: 0 });
    const out: string[] = [];
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) reject(new Error('a binary frame'));
      out.push(data.toString('utf8'));
    });
    receiver.on('error', reject);
    receiver.write(bytes);
    setImmediate(() => (out.length === count ? resolve(out) : reject(new Error(`${out.length} of ${count} messages parsed`))));
  });
}

describe('server text frames', () => {
  // Each length class of RFC 6455's header: 7-bit, 16-bit and 64-bit, at both edges.
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 200_000])('a %i-byte text parses back exactly', async (length) => {
    const text = 'x'.repeat(length);
    const [back] = await parse(textFrame(text), 1);
    expect(back).toBe(text);
  });

  it('sizes the header by UTF-8 bytes, not string length', async () => {
    const text = '€'.repeat(50); // 50 characters, 150 bytes: the 16-bit header
    const frame = textFrame(text);
    expect(frame[1]).toBe(126);
    expect(frame.readUInt16BE(2)).toBe(150);
    expect(await parse(frame, 1)).toEqual([text]);
  });

  it('holds one task’s frames to a socket and sends them together, in order, when the task ends', async () => {
    const socket = new PassThrough();
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    for (let i = 0; i < 5; i++) writeFrame(socket, textFrame(`m${i}`));
    expect(socket.writableCorked).toBe(1);
    expect(socket.writableLength).toBeGreaterThan(0);
    await new Promise((r) => setImmediate(r));
    expect(socket.writableCorked).toBe(0);
    expect(await parse(Buffer.concat(chunks), 5)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    // The next task corks afresh and is flushed too.
    writeFrame(socket, textFrame('later'));
    await new Promise((r) => setImmediate(r));
    expect(await parse(Buffer.concat(chunks), 6)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'later']);
  });
});
