import { appendFile, mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A stored telemetry event: the client's event plus the time the server received it. */
export type StoredEvent = Record<string, unknown> & { receivedAt: number };

/** Where accepted events go. Writes are awaited before the client gets its answer. */
export interface TelemetrySink {
  write(events: StoredEvent[]): Promise<void> | void;
  /** Called when the server closes. */
  close?(): Promise<void> | void;
  /**
   * Retry-After in ms while the sink cannot take more (a full write buffer), else 0. Ingestion
   * then answers 429 before reading further, like it does at MAX_PENDING_WRITES. Optional.
   */
  busy?(): number;
}

export interface FileSinkOptions {
  /** Directory of the files (created if missing). */
  dir: string;
  /** File name prefix. Default `'telemetry'`: files are `telemetry-YYYY-MM-DD.ndjson` (UTC day). */
  prefix?: string;
  /** Size at which a day's file rotates to `…-YYYY-MM-DD.1.ndjson`, `.2`, …, in bytes. Default 50 MiB. */
  maxFileBytes?: number;
  /** Files kept; the oldest beyond are deleted. Default `30`. */
  maxFiles?: number;
  now?: () => number;
}

/**
 * The default sink: newline-delimited JSON, one event per line, one file per UTC day, rotated by
 * size, at most `maxFiles` files. Appends are serialized so lines never interleave.
 */
export function fileSink(o: FileSinkOptions): TelemetrySink & { readonly file: string | undefined } {
  const prefix = o.prefix ?? 'telemetry';
  const maxBytes = o.maxFileBytes ?? 50 * 1024 * 1024;
  const maxFiles = o.maxFiles ?? 30;
  const now = o.now ?? Date.now;
  let chain: Promise<void> = Promise.resolve();
  let day = '';
  let part = 0;
  let size = 0;
  let file: string | undefined;

  const name = (d: string, p: number) => `${prefix}-${d}${p ? '.' + p : ''}.ndjson`;

  const prune = async () => {
    const files = (await readdir(o.dir)).filter((f) => f.startsWith(prefix + '-') && f.endsWith('.ndjson'));
    if (files.length <= maxFiles) return;
    const withTimes = await Promise.all(files.map(async (f) => ({ f, t: (await stat(join(o.dir, f))).mtimeMs })));
    withTimes.sort((a, b) => a.t - b.t || a.f.localeCompare(b.f));
    for (const { f } of withTimes.slice(0, withTimes.length - maxFiles)) await unlink(join(o.dir, f)).catch(() => {});
  };

  const append = async (text: string) => {
    const d = new Date(now()).toISOString().slice(0, 10);
    const bytes = Buffer.byteLength(text);
    const before = file;
    if (d !== day) {
      await mkdir(o.dir, { recursive: true });
      day = d;
      // Continue after a restart after the highest part of today (one directory listing: the
      // earlier parts may have been pruned, so probing .0, .1, … would reuse their names).
      const head = `${prefix}-${day}`;
      part = 0;
      for (const f of await readdir(o.dir)) {
        const m = f.startsWith(head) ? /^(?:\.(\d{1,9}))?\.ndjson$/.exec(f.slice(head.length)) : null;
        if (m) part = Math.max(part, Number(m[1] ?? 0));
      }
      size = await stat(join(o.dir, name(day, part))).then((s) => s.size, () => 0);
      if (size > 0 && size + bytes > maxBytes) {
        part++;
        size = 0;
      }
      file = join(o.dir, name(day, part));
    } else if (size > 0 && size + bytes > maxBytes) {
      part++;
      size = 0;
      file = join(o.dir, name(day, part));
    }
    await appendFile(file!, text);
    size += bytes;
    if (file !== before) await prune();
  };

  return {
    get file() {
      return file;
    },
    write(events) {
      const text = events.map((e) => JSON.stringify(e) + '\n').join('');
      const p = chain.then(() => append(text));
      chain = p.catch(() => {});
      return p;
    },
    close: () => chain,
  };
}
