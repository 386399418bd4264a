import { describe, expect, it } from 'vitest';
import { miniProgramStorage, StorageLimitError, utf8Bytes } from '../../src/storage/miniprogram';
import { FakeWx } from '../wechat/fake-wx';

describe('miniProgramStorage', () => {
  it('stores, reads and removes strings; a missing key reads as undefined', async () => {
    const wx = new FakeWx();
    const s = miniProgramStorage({ api: wx });
    expect(await s.get('k')).toBeUndefined();
    await s.set('k', '[1,"二"]');
    expect(await s.get('k')).toBe('[1,"二"]');
    expect(wx.storage.get('k')).toBe('[1,"二"]');
    await s.remove('k');
    expect(await s.get('k')).toBeUndefined();
  });

  it('reads Alipay\'s `data: null` for a missing key as undefined', async () => {
    const s = miniProgramStorage({
      api: { getStorage: ({ success }) => success?.({ data: null }), setStorage() {}, removeStorage() {} },
    });
    expect(await s.get('k')).toBeUndefined();
  });

  it('refuses a value over 1 MB per key with too_large before it reaches the platform', async () => {
    const wx = new FakeWx();
    const s = miniProgramStorage({ api: wx });
    const err = await s.set('big', 'x'.repeat(1024 * 1024)).catch((e) => e);
    expect(err).toBeInstanceOf(StorageLimitError);
    expect(err).toMatchObject({ code: 'too_large', key: 'big', limit: 1024 * 1024 });
    expect(wx.storage.has('big')).toBe(false);
    // A smaller per-key limit (Alipay: 200 KB).
    await expect(miniProgramStorage({ api: wx, maxKeyBytes: 200 * 1024 }).set('k', 'é'.repeat(110 * 1024))).rejects.toMatchObject({ code: 'too_large' });
  });

  it('refuses a write that would pass the 10 MB total with quota_exceeded, counting the value it replaces', async () => {
    const wx = new FakeWx();
    const s = miniProgramStorage({ api: wx });
    const mb = 'y'.repeat(1000 * 1024);
    for (let i = 0; i < 10; i++) await s.set(`k${i}`, mb);
    await expect(s.set('k10', mb)).rejects.toMatchObject({ name: 'StorageLimitError', code: 'quota_exceeded' });
    await s.set('k3', mb.slice(1)); // replacing a value frees its old size
    expect(wx.storage.size).toBe(10);
  });

  it('rejects with the platform\'s message when setStorage fails', async () => {
    const s = miniProgramStorage({
      api: { getStorage() {}, setStorage: ({ fail }) => fail?.({ errMsg: 'setStorage:fail disk full' }), removeStorage() {} },
    });
    await expect(s.set('k', 'v')).rejects.toThrow('setStorage:fail disk full');
  });

  it('counts UTF-8 bytes like the platform', () => {
    for (const s of ['', 'abc', 'é', '二', '😀', 'a😀二é']) expect(utf8Bytes(s)).toBe(Buffer.byteLength(s));
  });
});
