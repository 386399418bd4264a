import { randomUUID } from 'node:crypto';
import type { Publication, ServerFrame, SubscribeResult } from 'sdk-realtime/protocol';
import type { ConnectionContext } from '../options';
import { evaluate, evaluateAll, inApp, type FlagContext, type FlagResult } from './evaluate';
import type { FlagStore } from './store';

/**
 * The stream a client subscribes to for its evaluated flags (`client.subscribe('$flags', …)`): the
 * subscribe reply carries a `snapshot`, later `msg` frames carry `patch`es (docs/protocol.md).
 */
export const FLAGS_TOPIC = '$flags';

/** What the live push needs of a connection. */
export interface FlagsSink {
  sendFrame(frame: ServerFrame): void;
}

/** `data` of a `$flags` message. A patch's `null` means the flag was deleted. */
export type FlagsMessage = { type: 'snapshot'; flags: Record<string, FlagResult> } | { type: 'patch'; flags: Record<string, FlagResult | null> };

interface Attached {
  ctx: FlagContext;
  last: Record<string, FlagResult>;
  epoch: string;
  offset: number;
}

/** The flags context of a verified connection. */
export function flagContextOf(ctx: { app: string | null } & Pick<ConnectionContext, 'user' | 'device' | 'claims'>, env: string): FlagContext {
  return { app: ctx.app, user: ctx.user, device: ctx.device, env, claims: ctx.claims as Record<string, unknown> };
}

const same = (a: FlagResult | undefined, b: FlagResult | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.reason === b.reason && a.variant === b.variant && JSON.stringify(a.value) === JSON.stringify(b.value));

/**
 * This node's connections that asked for flags. On a change (a write, a reload, a window
 * boundary) each is re-evaluated and sent a patch only if its result changed. Bounded by the
 * server's connections (one entry per subscribed connection, removed when it goes).
 */
export class FlagsLive {
  private readonly attached = new Map<FlagsSink, Attached>();
  private readonly off: () => void;

  constructor(
    private readonly store: FlagStore,
    private readonly env: string,
    private readonly now: () => number,
  ) {
    this.off = store.onChange((keys) => this.changed(keys));
  }

  /** Subscribe a connection: its result, with the snapshot as the one replayed publication. */
  attach(sink: FlagsSink, ctx: ConnectionContext): SubscribeResult {
    const fctx = flagContextOf(ctx, this.env);
    const last = evaluateAll(this.store.all(), fctx, this.now());
    const epoch = randomUUID();
    this.attached.set(sink, { ctx: fctx, last, epoch, offset: 1 });
    const data: FlagsMessage = { type: 'snapshot', flags: last };
    const pub: Publication = { topic: FLAGS_TOPIC, id: randomUUID(), offset: 1, epoch, ts: Date.now(), data };
    return { epoch, offset: 1, recovered: true, pubs: [pub] };
  }

  /** The connection's claims changed (a `refresh` token): re-evaluate it, patch if its results changed. */
  reidentify(sink: FlagsSink, ctx: ConnectionContext): void {
    const a = this.attached.get(sink);
    if (!a) return;
    a.ctx = flagContextOf(ctx, this.env);
    this.patch(sink, a, this.allKeys(), true, this.now());
  }

  detach(sink: FlagsSink): void {
    this.attached.delete(sink);
  }

  get size(): number {
    return this.attached.size;
  }

  close(): void {
    this.off();
    this.attached.clear();
  }

  /** Re-evaluate `keys` (all flags when empty) for every attached connection; patch those that changed. */
  private changed(keys: string[]): void {
    const now = this.now();
    const all = keys.length === 0;
    const names = all ? this.allKeys() : new Set(keys);
    for (const [sink, a] of this.attached) this.patch(sink, a, names, all, now);
  }

  private allKeys(): Set<string> {
    return new Set([...this.store.all()].map((f) => f.key));
  }

  /** Re-evaluate `names` (and, with `all`, drop results of flags that are gone) for one connection. */
  private patch(sink: FlagsSink, a: Attached, names: Set<string>, all: boolean, now: number): void {
    const patch: Record<string, FlagResult | null> = Object.create(null);
    let n = 0;
    const check = (key: string) => {
      const def = this.store.get(key);
      const next = def && inApp(def, a.ctx) ? evaluate(def, a.ctx, now) : undefined;
      if (same(a.last[key], next)) return;
      if (next) a.last[key] = next;
      else delete a.last[key];
      patch[key] = next ?? null;
      n++;
    };
    for (const key of names) check(key);
    if (all) for (const key of Object.keys(a.last)) if (!names.has(key)) check(key);
    if (n === 0) return;
    a.offset++;
    const data: FlagsMessage = { type: 'patch', flags: patch };
    sink.sendFrame({ t: 'msg', topic: FLAGS_TOPIC, id: randomUUID(), offset: a.offset, epoch: a.epoch, ts: Date.now(), data });
  }
}
