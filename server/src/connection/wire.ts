import type { Duplex } from 'node:stream';

/**
 * Bytes on a connection's socket: server text frames built once and written as they are, and
 * every socket written to during one task flushed together at its end.
 *
 * Why not `ws.send` for each frame: a broadcast to 10,000 sockets spent its time in one
 * `Buffer.from(text)`, one frame header and a corked two-buffer `writev` per socket; here the
 * frame is one buffer shared by every recipient. And why coalesce: a burst (a Redis pub/sub
 * chunk carries many publishes, a multi-publish fans out several frames) would cost one syscall
 * per frame per socket; corking until the task ends makes it one per socket. The write syscall is
 * what a loopback broadcast is bound by (docs/benchmarks.md, "Server fan-out").
 *
 * Writing beside `ws` is safe because the server runs `ws` without permessage-deflate: its sender
 * then writes every frame (close, ping, pong) synchronously, so frames keep their order.
 */

/** An unmasked, unfragmented RFC 6455 text frame (servers never mask) holding `text`. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81; // FIN + opcode 1 (text)
  if (head === 2) {
    frame[1] = length;
  } else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, head, 'utf8');
  return frame;
}

// Sockets corked in the current task; at most one entry per open connection, emptied every task.
const corked = new Set<Duplex>();
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  for (const socket of corked) {
    try {
      socket.uncork();
    } catch {
      // a socket destroyed since: its bytes are moot, the others still go out
    }
  }
  corked.clear();
}

/** Write `frame` to `socket`, sent together with whatever else this task writes to it. */
export function writeFrame(socket: Duplex, frame: Buffer): void {
  if (!corked.has(socket)) {
    socket.cork();
    corked.add(socket);
    if (!flushScheduled) {
      flushScheduled = true;
      queueMicrotask(flush);
    }
  }
  socket.write(frame);
}
