/**
 * The kernel's listener table (sx_listeners: (family << 16 | port) → pid + comm of the process that called
 * listen()), read and seeded from user space. SextantProbes owns the map; these are its two accesses.
 */
import { decodeSxListener, SX_LISTENER_LAYOUT, SX_LISTENER_SIZE } from './generated/events';
import { check, u32, type MapInfo, type NativeAddon } from './native';
import type { ListenerRecord } from './probe-types';

const AF_INET = 2;
const AF_INET6 = 10;
const BPF_NOEXIST = 1;
const EEXIST = 17;
const E2BIG = 7;

const listenerKey = (family: 4 | 6, port: number) => u32(((family === 6 ? AF_INET6 : AF_INET) << 16) | port);

/** The process listening on a local TCP port (IPv4 first, then IPv6): one map lookup per family. */
export function lookupListener(addon: NativeAddon, m: MapInfo, port: number): ListenerRecord | undefined {
  for (const family of [4, 6] as const) {
    const v = check('lookup sx_listeners', addon.mapLookup(m.fd, listenerKey(family, port), m.valueSize));
    if (v) return { family, port, ...decodeSxListener(v) };
  }
  return undefined;
}

/**
 * Adds listeners the kernel has not seen (what it learned itself stays); a full map ends the seeding. Returns how
 * many were added.
 */
export function seedListenerMap(addon: NativeAddon, m: MapInfo, listeners: readonly ListenerRecord[]): number {
  let added = 0;
  for (const l of listeners) {
    const value = Buffer.alloc(SX_LISTENER_SIZE);
    value.writeUInt32LE(l.pid, SX_LISTENER_LAYOUT.pid!.offset);
    value.write(l.comm.slice(0, SX_LISTENER_LAYOUT.comm!.count - 1), SX_LISTENER_LAYOUT.comm!.offset, 'latin1');
    const r = addon.mapUpdate(m.fd, listenerKey(l.family, l.port), value, BPF_NOEXIST);
    if (r === -EEXIST) continue;
    if (r === -E2BIG) break;
    check('seed sx_listeners', r);
    added++;
  }
  return added;
}
