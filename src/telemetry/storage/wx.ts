import type { Storage } from '../../storage/types';

/** The part of a WeChat-family `wx` object the storage uses (`wx`, `uni`, `my`-style APIs). */
export interface WxStorageApi {
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, value: string): void;
  removeStorageSync(key: string): void;
}

/** `Storage` over mini-program storage (`wx.getStorageSync`...). Failures are ignored (10 MB app limit). */
export function wxStorage(wx: WxStorageApi): Storage {
  const safe = <R>(fn: () => R): R | undefined => {
    try {
      return fn();
    } catch {
      return undefined;
    }
  };
  return {
    get: async (k) => {
      const v = safe(() => wx.getStorageSync(k));
      return typeof v == 'string' && v !== '' ? v : undefined;
    },
    set: async (k, v) => void safe(() => wx.setStorageSync(k, v)),
    remove: async (k) => void safe(() => wx.removeStorageSync(k)),
  };
}
