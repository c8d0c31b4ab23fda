/** Formatting of kernel address bytes; IPv4-mapped IPv6 addresses become plain IPv4 (one name per peer). */
import os from 'node:os';
import { ipMatches } from '@sextant/shared';

/** Whether the 16 bytes at `off` are a v4-mapped IPv6 address (::ffff:a.b.c.d). */
export function isV4Mapped(b: Uint8Array, off = 0): boolean {
  for (let i = off; i < off + 10; i++) if (b[i] !== 0) return false;
  return b[off + 10] === 0xff && b[off + 11] === 0xff;
}

// IPv4 addresses as text by their 32-bit value: a host's connections involve few distinct addresses, and
// formatting one anew per event (four number-to-string conversions and the concatenations) was a visible share
// of the collector's allocations at tens of thousands of connections a second. Bounded: cleared when full.
const V4_CACHE_MAX = 65_536;
const v4Text = new Map<number, string>();

function formatV4(b: Uint8Array, off: number): string {
  const key = (((b[off] ?? 0) << 24) | ((b[off + 1] ?? 0) << 16) | ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0)) >>> 0;
  let text = v4Text.get(key);
  if (text === undefined) {
    if (v4Text.size >= V4_CACHE_MAX) v4Text.clear();
    text = `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
    v4Text.set(key, text);
  }
  return text;
}

/** The address in `bytes` (at `off`: 4 bytes for IPv4, 16 for IPv6) as text; v4-mapped IPv6 as IPv4. */
export function formatIp(bytes: Uint8Array, family: number, off = 0): string {
  if (family === 4) return formatV4(bytes, off);
  if (isV4Mapped(bytes, off)) return formatV4(bytes, off + 12);
  const groups: number[] = [];
  for (let i = off; i < off + 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** An address as the kernel stores it (formatIp's inverse): an IPv4 address's 4 bytes (at 0 for family 4; as ::ffff:a.b.c.d for family 6), or an IPv6 address's 16. */
export function ipBytes(addr: string, family: 4 | 6): Buffer {
  const out = Buffer.alloc(16);
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (v4) {
    const at = family === 4 ? 0 : 12;
    if (family === 6) out.writeUInt16BE(0xffff, 10);
    for (let i = 0; i < 4; i++) out[at + i] = Number(v4[i + 1]) & 0xff;
    return out;
  }
  if (family === 4) throw new RangeError(`not an IPv4 address: ${addr}`);
  const parts = addr.split('::');
  if (parts.length > 2) throw new RangeError(`not an IPv6 address: ${addr}`);
  const [head = '', tail] = parts;
  const groups = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8 || all.some((g) => !(g >= 0 && g <= 0xffff))) throw new RangeError(`not an IPv6 address: ${addr}`);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function ipFamily(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

export interface HostAddress {
  address: string;
  family: 4 | 6;
  cidr: string;
  internal: boolean;
}

/** This host's interface addresses (os.networkInterfaces), as `likelyLocalAddress` takes them. */
export function hostAddresses(): HostAddress[] {
  return Object.values(os.networkInterfaces()).flatMap((list) =>
    (list ?? []).map((a) => ({
      address: a.address,
      family: a.family === 'IPv6' ? (6 as const) : (4 as const),
      cidr: a.cidr ?? `${a.address}/${a.family === 'IPv6' ? 128 : 32}`,
      internal: a.internal,
    })),
  );
}

/**
 * The local address a socket bound to "any" (0.0.0.0 / ::) most likely used towards `remoteIp`: loopback
 * for loopback peers, the host's own address for traffic to itself, else the address of the interface whose
 * subnet holds the peer, else the first external address of the family. The kernel's sendmsg/recvmsg hooks
 * give the peer of an unconnected UDP socket but not the local address the route chose.
 */
export function likelyLocalAddress(remoteIp: string, host: readonly HostAddress[]): string {
  const family = ipFamily(remoteIp);
  if (family === 4 ? remoteIp.startsWith('127.') : remoteIp === '::1') return family === 4 ? '127.0.0.1' : '::1';
  const mine = host.filter((a) => a.family === family);
  const self = mine.find((a) => a.address === remoteIp);
  if (self) return self.address;
  const onLink = mine.find((a) => !a.internal && ipMatches(remoteIp, a.cidr));
  if (onLink) return onLink.address;
  const external = mine.find((a) => !a.internal && !a.address.startsWith('fe80:'));
  return external?.address ?? (family === 4 ? '0.0.0.0' : '::');
}
