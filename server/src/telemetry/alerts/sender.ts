import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Logger } from '../../logger';
import { webhookRequest, type Notice } from './payload';
import { Ring } from './ring';
import type { Webhook } from './rules';
import { resolveTarget, WebhookTargetError, type Lookup } from './target';

/** The clock and timers the sender waits with (injected so tests control them). */
export interface SenderWorld {
  now: () => number;
  random: () => number;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  lookup: Lookup;
}

export interface SenderOptions {
  /** Sends queued or in flight at once; beyond, a new send is dropped (and logged). */
  maxPending: number;
  /** Sends in flight at once. */
  concurrency: number;
  /** Attempts per send, the first included. */
  attempts: number;
  /** Wait before the second attempt, ms; doubled after each failure, with jitter (×0.5–1). */
  baseDelay: number;
  /** Longest wait between attempts, ms (also caps a `Retry-After`). */
  maxDelay: number;
  /** Time one attempt may take (connect, send, answer), ms; then it is aborted. */
  timeout: number;
  allowPrivateTargets: boolean;
}

/** How one send ended, for the log and the tests. */
export interface Delivery {
  alertId: string;
  format: Webhook['format'];
  /** Scheme and host only: a webhook's path and query are its credentials. */
  target: string;
  ok: boolean;
  attempts: number;
  /** The last HTTP status, or the error of the last attempt. */
  status?: number;
  error?: string;
}

interface Job {
  hook: Webhook;
  notice: Notice;
}

/** Platforms that answer 200 with an error code in the body (a bad signature, a muted bot). */
function platformError(format: Webhook['format'], body: string): string | undefined {
  if (format !== 'feishu' && format !== 'dingtalk') return undefined;
  try {
    const j = JSON.parse(body) as { code?: unknown; errcode?: unknown; msg?: unknown; errmsg?: unknown; StatusCode?: unknown };
    const code = format === 'feishu' ? (j.code ?? j.StatusCode) : j.errcode;
    if (code !== undefined && code !== 0) return `${format} error ${String(code)}: ${String((format === 'feishu' ? j.msg : j.errmsg) ?? '').slice(0, 200)}`;
  } catch {
    // not JSON: the status alone decides
  }
  return undefined;
}

const origin = (raw: string): string => {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid url)';
  }
};

/**
 * Sends webhook notifications: a bounded queue, a few in flight, each retried with exponential
 * backoff and jitter on a network error, a timeout, 408, 429 or 5xx (honouring `Retry-After` up to
 * `maxDelay`), every attempt logged. A refused target or another 4xx is final.
 */
export class WebhookSender {
  private readonly queue: Ring<Job>;
  private active = 0;
  private closed = false;
  private readonly controllers = new Set<AbortController>();
  private readonly sleeping = new Map<unknown, () => void>();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly o: SenderOptions,
    private readonly world: SenderWorld,
    private readonly logger: Logger,
    private readonly onDelivery: (d: Delivery) => void = () => {},
  ) {
    this.queue = new Ring<Job>(o.maxPending);
  }

  /** Sends queued plus in flight. */
  get pending(): number {
    return this.queue.size + this.active;
  }

  /** Queue one notification; `false` when `maxPending` sends are already waiting (dropped, logged). */
  send(hook: Webhook, notice: Notice): boolean {
    if (this.closed) return false;
    if (this.pending >= this.o.maxPending) {
      this.logger.warn(`alert webhook ${hook.format} ${origin(hook.url)}: dropped (${this.o.maxPending} sends pending)`);
      return false;
    }
    this.queue.push({ hook, notice });
    this.pump();
    return true;
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Abort what is in flight, drop what waits. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.clear();
    for (const c of this.controllers) c.abort();
    for (const [handle, wake] of this.sleeping) {
      this.world.clearTimeout(handle);
      wake();
    }
    this.sleeping.clear();
  }

  private pump(): void {
    while (!this.closed && this.active < this.o.concurrency && this.queue.size > 0) {
      const job = this.queue.shift()!;
      this.active++;
      void this.deliver(job).finally(() => {
        this.active--;
        this.pump();
        if (this.pending === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  private async deliver({ hook, notice }: Job): Promise<void> {
    const target = origin(hook.url);
    const label = `alert webhook ${hook.format} ${target} (alert ${notice.alertId})`;
    const { attempts } = this.o;
    let last: { status?: number; error?: string } = {};
    let made = 0;
    for (let attempt = 1; attempt <= attempts && !this.closed; attempt++) {
      made = attempt;
      let retryAfter: number | undefined;
      let retry = false;
      try {
        // Signed per attempt: Feishu and DingTalk refuse timestamps older than about an hour.
        const req = webhookRequest(hook, notice, this.world.now());
        const { status, body, retryAfterMs } = await this.attempt(req.url, req.headers, req.body);
        last = { status };
        const refusedByPlatform = status >= 200 && status < 300 ? platformError(hook.format, body) : undefined;
        if (status >= 200 && status < 300 && !refusedByPlatform) {
          this.logger.info(`${label}: attempt ${attempt}/${attempts}: ${status}, delivered`);
          this.onDelivery({ alertId: notice.alertId, format: hook.format, target, ok: true, attempts: attempt, status });
          return;
        }
        if (refusedByPlatform) last.error = refusedByPlatform;
        retry = !refusedByPlatform && (status === 408 || status === 429 || status >= 500);
        retryAfter = retryAfterMs;
      } catch (e) {
        last = { error: e instanceof Error ? e.message : String(e) };
        retry = !(e instanceof WebhookTargetError);
      }
      const what = last.error ?? String(last.status);
      if (!retry || attempt === attempts || this.closed) {
        this.logger.warn(`${label}: attempt ${attempt}/${attempts}: ${what}, giving up`);
        break;
      }
      const exp = Math.min(this.o.maxDelay, this.o.baseDelay * 2 ** (attempt - 1));
      const wait = Math.min(this.o.maxDelay, Math.max(retryAfter ?? 0, Math.round(exp * (0.5 + this.world.random() / 2))));
      this.logger.warn(`${label}: attempt ${attempt}/${attempts}: ${what}, retrying in ${wait} ms`);
      await this.sleep(wait);
    }
    this.onDelivery({ alertId: notice.alertId, format: hook.format, target, ok: false, attempts: made, ...last });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.world.setTimeout(() => {
        this.sleeping.delete(handle);
        resolve();
      }, ms);
      this.sleeping.set(handle, resolve);
    });
  }

  /** One POST with its own timeout, connecting to the address the target check approved. */
  private async attempt(raw: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string; retryAfterMs?: number }> {
    const { url, address, family } = await resolveTarget(raw, this.o.allowPrivateTargets, this.world.lookup);
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = this.world.setTimeout(() => controller.abort(new Error(`timed out after ${this.o.timeout} ms`)), this.o.timeout);
    // Pinned: the connection goes to the checked address whatever DNS answers now.
    const lookup: LookupFunction = (_host, options, cb) => {
      if (options.all) (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
      else cb(null, address, family);
    };
    try {
      return await new Promise((resolve, reject) => {
        const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
        const req = request(
          url,
          { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup, signal: controller.signal },
          (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              // Only the start of an answer is read: enough for a platform's error code.
              if (size < 4096) chunks.push(c);
              size += c.length;
            });
            res.on('end', () => {
              const ra = Number(res.headers['retry-after']);
              resolve({
                status: res.statusCode ?? 0,
                body: Buffer.concat(chunks).toString('utf8').slice(0, 4096),
                retryAfterMs: Number.isFinite(ra) && ra >= 0 ? ra * 1000 : undefined,
              });
            });
            res.on('error', reject);
          },
        );
        req.on('error', (e) => reject(controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : e));
        req.end(body);
      });
    } finally {
      this.world.clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }
}
