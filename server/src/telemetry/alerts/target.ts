import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Resolves a host name to every address it has (node:dns `lookup` with `all: true`). */
export type Lookup = (host: string) => Promise<Array<{ address: string; family: number }>>;

export const defaultLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Addresses a webhook must not reach unless `allowPrivateTargets`: this host, private networks, link-local (cloud metadata), multicast, reserved. */
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

/** Is `address` one a webhook may not reach (IPv4-mapped and NAT64 IPv6 checked as their IPv4)? */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (embedded) return blocked.check(embedded[1]!, 'ipv4');
  return blocked.check(lower, 'ipv6');
}

/** A webhook target that may not be used; `reason` is safe to log (no path or query). */
export class WebhookTargetError extends Error {
  readonly code = 'forbidden_target';
}

/**
 * Check a webhook URL and pick the address to connect to: `http:` or `https:` only, and (unless
 * `allowPrivate`) every address the host resolves to must be public, so a rule cannot aim the
 * server at its own network. The request then connects to this very address (no second lookup a
 * DNS answer could change in between).
 */
export async function resolveTarget(raw: string, allowPrivate: boolean, lookup: Lookup): Promise<{ url: URL; address: string; family: number }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('webhook url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookTargetError('webhook url must be http(s)');
  if (url.username || url.password) throw new WebhookTargetError('webhook url must not carry credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  const addresses = literal ? [{ address: host, family: literal }] : await lookup(host);
  if (addresses.length === 0) throw new WebhookTargetError(`webhook host ${host} has no address`);
  if (!allowPrivate) {
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) throw new WebhookTargetError(`webhook host ${host} resolves to a private or loopback address (${bad.address}); see allowPrivateTargets`);
  }
  return { url, address: addresses[0]!.address, family: addresses[0]!.family };
}
