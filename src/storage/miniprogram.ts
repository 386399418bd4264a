import type { Storage } from './types';

/** Callback-style async storage of a mini-program API object (`wx`, `uni`, `Taro`, `my`). */
export interface MiniProgramStorageApi {
  getStorage(options: { key: string; success?: (res: { data?: unknown }) => void; fail?: (res: unknown) => void }): void;
  setStorage(options: { key: string; data: unknown; success?: () => void; fail?: (res: unknown) => void }): void;
  removeStorage(options: { key: string; success?: () => void; fail?: (res: unknown) => void }): void;
  /** `currentSize` and `limitSize` in KB. Optional: without it only the per-key limit is checked. */
  getStorageInfo?(options: { success?: (res: { currentSize: number; limitSize: number; keys?: string[] }) => void; fail?: (res: unknown) => void }): void;
}

/** Options of {@link miniProgramStorage}. */
export interface MiniProgramStorageOptions {
  /** The API object. Default: `globalThis.wx`, looked up at each call. */
  api?: MiniProgramStorageApi;
  /**
   * Largest value per key, in bytes (UTF-8 of key + value). Default 1 048 576 (WeChat's 1 MB;
   * Alipay allows 200 KB per key: pass 204 800). A bigger write is refused with a
   * {@link StorageLimitError} (`too_large`) before it reaches the platform.
   */
  maxKeyBytes?: number;
  /**
   * Total quota, in bytes, used when `getStorageInfo` is missing or reports no `limitSize`.
   * Default 10 485 760 (WeChat's and Alipay's 10 MB). A write that would exceed what
   * `getStorageInfo` reports as free is refused with a {@link StorageLimitError} (`quota_exceeded`).
   */
  maxTotalBytes?: number;
}

/** A write refused because it would not fit; the client reports it as the `cause` of an `internal` "storage failed" error. */
export class StorageLimitError extends Error {
  override readonly name = 'StorageLimitError';
  constructor(
    /** `too_large`: over the per-key limit; `quota_exceeded`: over the total quota. */
    readonly code: 'too_large' | 'quota_exceeded',
    readonly key: string,
    /** Bytes the write needed. */
    readonly size: number,
    /** The limit it met, in bytes. */
    readonly limit: number,
  ) {
    super(`storage ${code == 'too_large' ? 'value' : 'quota'} limit: ${size} bytes for "${key}" over ${limit}`);
  }
}

/** UTF-8 length without TextEncoder (absent in older mini-program base libraries). */
export const utf8Bytes = (s: string): number => {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00) {
      n += 2; // a surrogate pair: 4 bytes for 2 units
      i++;
    } else if (c >= 0x800) n += 2;
    else if (c >= 0x80) n += 1;
  }
  return n;
};

const errorOf = (res: unknown): Error => {
  const r = res as { errMsg?: string; errorMessage?: string } | undefined;
  return new Error(r?.errMsg ?? r?.errorMessage ?? String(res));
};

/**
 * Storage over the mini-program async storage API (`getStorage`/`setStorage`/`removeStorage`),
 * respecting its limits: a value over the per-key limit or a write over the total quota is refused
 * with a {@link StorageLimitError} instead of failing silently on the device.
 */
export function miniProgramStorage(options: MiniProgramStorageOptions = {}): Storage {
  const maxKey = options.maxKeyBytes ?? 1024 * 1024;
  const maxTotal = options.maxTotalBytes ?? 10 * 1024 * 1024;
  const api = () => {
    const a = options.api ?? (globalThis as { wx?: MiniProgramStorageApi }).wx;
    if (!a) throw new Error('no mini-program API: pass options.api (wx, uni, Taro or my)');
    return a;
  };
  const get = (key: string) =>
    new Promise<string | undefined>((resolve, reject) =>
      api().getStorage({
        key,
        // Alipay answers a missing key with `data: null`.
        success: (res) => resolve(typeof res?.data == 'string' ? res.data : undefined),
        // WeChat answers a missing key with `fail` ("data not found").
        fail: (res) => (/not (found|exist)/i.test(errorOf(res).message) ? resolve(undefined) : reject(errorOf(res))),
      }),
    );
  const info = (a: MiniProgramStorageApi) =>
    new Promise<{ currentSize: number; limitSize: number } | undefined>((resolve) => {
      if (!a.getStorageInfo) return resolve(undefined);
      a.getStorageInfo({ success: resolve, fail: () => resolve(undefined) });
    });
  return {
    get,
    async set(key, value) {
      const a = api();
      const size = utf8Bytes(key) + utf8Bytes(value);
      if (size > maxKey) throw new StorageLimitError('too_large', key, size, maxKey);
      const i = await info(a);
      if (i) {
        const limit = i.limitSize > 0 ? i.limitSize * 1024 : maxTotal;
        const old = await get(key);
        const after = i.currentSize * 1024 - (old === undefined ? 0 : utf8Bytes(key) + utf8Bytes(old)) + size;
        if (after > limit) throw new StorageLimitError('quota_exceeded', key, after, limit);
      }
      await new Promise<void>((resolve, reject) => a.setStorage({ key, data: value, success: () => resolve(), fail: (res) => reject(errorOf(res)) }));
    },
    remove: (key) =>
      new Promise<void>((resolve, reject) =>
        api().removeStorage({ key, success: () => resolve(), fail: (res) => reject(errorOf(res)) }),
      ),
  };
}
