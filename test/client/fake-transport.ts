import type { Transport, TransportHandlers } from '../../src/transports/types';
import type { ConnectResult } from '../../src/protocol/frames';

/** Frames a test scripts on behalf of the server; objects are JSON-encoded, strings sent as is. */
type Outbound = Record<string, unknown> | string;

/** A frame the client sent, parsed. */
export type SentFrame = { t: string; id: number; [field: string]: unknown };

/** One link the client opened, driven by the test as if it were the server. */
export class FakeLink {
  /** Frames the client sent, parsed. */
  readonly sent: SentFrame[] = [];
  /** Set when the client closed the link. */
  closedByClient?: { code?: number; reason?: string };
  ended = false;

  constructor(
    readonly url: string,
    private readonly handlers: TransportHandlers,
  ) {}

  /** The connection handed to the client. */
  readonly connection = {
    send: (frame: string) => {
      this.sent.push(JSON.parse(frame));
    },
    close: (code?: number, reason?: string) => {
      if (this.closedByClient) return;
      this.closedByClient = { code, reason };
      void Promise.resolve().then(() => this.end(code ?? 1000, reason ?? ''));
    },
  };

  open(): void {
    this.handlers.onOpen();
  }
  /** Push a frame from the "server". */
  push(frame: Outbound): void {
    this.handlers.onMessage(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
  /** The link ends (network loss, server close): `onClose` once. */
  end(code = 1006, reason = ''): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.onClose(code, reason);
  }
  /** Frames of type `t` the client sent. */
  frames(t: string): SentFrame[] {
    return this.sent.filter((f) => f.t === t);
  }
  /** The last frame of type `t` the client sent. */
  last(t: string): SentFrame {
    const all = this.frames(t);
    const frame = all[all.length - 1];
    if (!frame) throw new Error(`the client sent no "${t}" frame`);
    return frame;
  }
  reply(id: number, result: unknown): void {
    this.push({ t: 'reply', id, result });
  }
  fail(id: number, code: string, message = code, extra: Record<string, unknown> = {}): void {
    this.push({ t: 'reply', id, error: { code, message, ...extra } });
  }
  /** Answer the client's `connect` with a result (defaults: user u1, ping 25 s, 1 MiB frames). */
  accept(result: Partial<ConnectResult> = {}): void {
    this.reply(this.last('connect').id, {
      client: 'c1',
      user: 'u1',
      device: null,
      ping: 25_000,
      maxFrame: 1024 * 1024,
      streams: {},
      ...result,
    });
  }
  /** Answer the last `sub` for `topic`. */
  subscribed(topic: string, result: { epoch?: string; offset?: number; recovered?: boolean; pubs?: unknown[] } = {}): void {
    const sub = this.sent.filter((f) => f.t === 'sub' && f.topic === topic).pop();
    if (!sub) throw new Error(`the client sent no "sub" for ${topic}`);
    this.reply(sub.id, { epoch: 'e1', offset: 0, recovered: true, pubs: [], ...result });
  }
}

/** A transport whose links the test drives. */
export function fakeTransport() {
  const links: FakeLink[] = [];
  const transport: Transport = (url, handlers) => {
    const link = new FakeLink(url, handlers);
    links.push(link);
    return link.connection;
  };
  return {
    transport,
    links,
    /** The newest link. */
    get link(): FakeLink {
      const l = links[links.length - 1];
      if (!l) throw new Error('no link opened yet');
      return l;
    },
  };
}

/** Let pending promise callbacks run (the client awaits the token and storage before opening). */
export async function tick(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A message frame. */
export const msg = (topic: string, offset: number, data: unknown = offset, extra: Record<string, unknown> = {}) => ({
  t: 'msg',
  topic,
  id: `${topic}#${offset}`,
  offset,
  epoch: 'e1',
  ts: 1_700_000_000_000,
  data,
  ...extra,
});
