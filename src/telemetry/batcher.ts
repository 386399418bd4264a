/** Collects items and hands them over in one go: at `size` items, or `interval` ms after the first one. */
export interface Batcher<T> {
  add(item: T): void;
  /** Hand over everything now (no-op when empty). */
  flush(): void;
  readonly size: number;
  /** Cancel the timer; items stay until the next `flush`. */
  stop(): void;
}

export function createBatcher<T>(size: number, interval: number, onFlush: (items: T[]) => void): Batcher<T> {
  let items: T[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const flush = () => {
    stop();
    if (!items.length) return;
    const out = items;
    items = [];
    onFlush(out);
  };
  return {
    add(item) {
      items.push(item);
      if (items.length >= size) flush();
      else timer ??= setTimeout(flush, interval);
    },
    flush,
    get size() {
      return items.length;
    },
    stop,
  };
}

/**
 * UTF-8 length of `s` in bytes, without TextEncoder (mini-programs lack it): each `%XX` escape of
 * `encodeURI` is one byte, every other character one. `s` must be well-formed (JSON.stringify output is).
 */
export const utf8Length = (s: string): number => encodeURI(s).split(/%..|./).length - 1;

/**
 * Split `items` (with their serialized sizes) into chunks of at most `count` items and `maxBytes`
 * bytes (an item alone over `maxBytes` still gets a chunk of its own; callers drop those earlier).
 */
export function pack<T>(items: Array<{ item: T; bytes: number }>, count: number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const { item, bytes: b } of items) {
    if (cur.length && (cur.length >= count || bytes + b + 1 > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(item);
    bytes += b + 1;
  }
  if (cur.length) out.push(cur);
  return out;
}
