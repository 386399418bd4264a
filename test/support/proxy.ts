import net from 'node:net';

/** How the proxy treats bytes right now. */
/** `down` swallows only server→client bytes, `up` only client→server, `both` everything. */
export type Blackhole = 'both' | 'down' | 'up';

/**
 * A TCP proxy on 127.0.0.1 that can break the link between a client and the real server in the
 * ways real networks do: `blackhole()` keeps both sockets open but stops moving bytes (a
 * half-open link), `drop()` resets every connection, `setDelay()` adds latency per chunk.
 */
export interface FaultProxy {
  url(path?: string): string;
  port: number;
  /** Keep sockets open but stop moving bytes (default both directions): a half-open link. */
  blackhole(direction?: Blackhole): void;
  pass(): void;
  /** Stop reading server→client bytes, so TCP backpressure builds up on the server (a stalled reader). */
  stall(): void;
  drop(): void;
  setDelay(ms: number): void;
  /** Refuse new connections (they are reset at once) until `accept()`. */
  refuse(): void;
  accept(): void;
  connections(): number;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  let hole: Blackhole | null = null;
  let delay = 0;
  let refusing = false;
  const pairs = new Set<[net.Socket, net.Socket]>();

  const pipe = (from: net.Socket, to: net.Socket, direction: 'up' | 'down') => {
    // Delayed chunks wait in a FIFO: a TCP stream is never reordered, even when the delay changes
    // (or drops to 0) while chunks are still waiting.
    const queue: Array<{ at: number; chunk: Buffer }> = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const now = Date.now();
      while (queue.length && queue[0]!.at <= now) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length) timer = setTimeout(flush, queue[0]!.at - now);
    };
    from.on('data', (chunk: Buffer) => {
      if (hole === 'both' || hole === direction) return; // swallowed: neither side learns anything
      if (delay <= 0 && queue.length === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      const at = Math.max(Date.now() + delay, queue.length ? queue[queue.length - 1]!.at : 0);
      queue.push({ at, chunk });
      timer ??= setTimeout(flush, at - Date.now());
    });
  };

  const server = net.createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    pipe(client, upstream, 'up');
    pipe(upstream, client, 'down');
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  const destroyAll = () => {
    for (const [a, b] of pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    pairs.clear();
  };

  return {
    port,
    url: (path = '/ws') => `ws://127.0.0.1:${port}${path}`,
    blackhole: (direction = 'both') => {
      hole = direction;
    },
    pass: () => {
      hole = null;
      for (const [, upstream] of pairs) upstream.resume();
    },
    stall: () => {
      for (const [, upstream] of pairs) upstream.pause();
    },
    drop: destroyAll,
    setDelay: (ms) => {
      delay = ms;
    },
    refuse: () => {
      refusing = true;
    },
    accept: () => {
      refusing = false;
    },
    connections: () => pairs.size,
    close: async () => {
      destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
