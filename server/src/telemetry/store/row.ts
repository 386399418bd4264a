import { binOf } from '../aggregates/histogram';
import { fingerprint, normaliseMessage, topFrame } from '../aggregates/fingerprint';
import type { StoredEvent } from '../sink';

/** A raw event as stored: the event's fields plus what rollups group by, derived once at write time. */
export interface EventRow {
  app: string;
  env: string;
  /** `''` for no release (NULL would not group or compare alike in both databases). */
  release: string;
  userId: string | null;
  sessionId: string;
  type: string;
  name: string;
  ts: number;
  receivedAt: number;
  rate: number;
  props: string;
  /** Page views: the path; Web Vitals: `props.page`, else the session's last page view. */
  page: string | null;
  /** API calls: `props.status` (0 when absent: a network failure). */
  status: number | null;
  /** The measured value: page `stay`, API `duration`, perf `value`. */
  value: number | null;
  /** Histogram bin of `value`. */
  bin: string | null;
  /** Error fingerprint. */
  fp: string | null;
}

/** One error fingerprint as first derived from an event. */
export interface FingerprintRow {
  app: string;
  fp: string;
  message: string;
  frame: string;
  /** Earliest and latest `ts` of the fingerprint in the batch. */
  first: number;
  last: number;
}

/** Sessions whose last page is remembered, to give Web Vitals (which carry no page) their page. */
const MAX_SESSIONS = 10_000;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Turns stored events into rows; keeps a bounded LRU of each session's last page. */
export class RowMaker {
  private readonly lastPage = new Map<string, string>();

  make(e: StoredEvent, fingerprints: Map<string, FingerprintRow>): EventRow {
    const props = (typeof e.props === 'object' && e.props !== null ? e.props : {}) as Record<string, unknown>;
    const type = String(e.type);
    const name = String(e.name);
    const sessionId = String(e.sessionId);
    const app = String(e.app);
    const ts = Number(e.ts);
    let page: string | null = null;
    let status: number | null = null;
    let value: unknown = null;
    let fp: string | null = null;
    if (type === 'page') {
      page = name;
      value = props.stay;
      this.remember(app + '\u0000' + sessionId, name);
    } else if (type === 'api') {
      status = Number.isInteger(props.status) ? (props.status as number) : 0;
      value = props.duration;
    } else if (type === 'perf') {
      value = props.value;
      page = str(props.page) ?? this.lastPage.get(app + '\u0000' + sessionId) ?? '';
    } else if (type === 'error') {
      const message = normaliseMessage(str(props.message) ?? name);
      const frame = topFrame(props.stack);
      fp = fingerprint(message, frame);
      const seen = fingerprints.get(app + '\u0000' + fp);
      if (!seen) fingerprints.set(app + '\u0000' + fp, { app, fp, message, frame, first: ts, last: ts });
      else {
        seen.first = Math.min(seen.first, ts);
        seen.last = Math.max(seen.last, ts);
      }
    }
    const bin = binOf(value);
    return {
      app,
      env: String(e.env ?? ''),
      release: str(e.release) ?? '',
      userId: str(e.userId) ?? null,
      sessionId,
      type,
      name,
      ts,
      receivedAt: e.receivedAt,
      rate: typeof e.rate === 'number' ? e.rate : 1,
      props: JSON.stringify(props),
      page,
      status,
      value: bin === null ? null : (value as number),
      bin: bin === null ? null : String(bin),
      fp,
    };
  }

  private remember(key: string, page: string): void {
    // Map order is insertion order: delete + set moves the key to the newest end (O(1)).
    this.lastPage.delete(key);
    this.lastPage.set(key, page);
    if (this.lastPage.size > MAX_SESSIONS) this.lastPage.delete(this.lastPage.keys().next().value!);
  }
}
