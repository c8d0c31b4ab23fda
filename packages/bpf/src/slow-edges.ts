/**
 * Per-edge slow thresholds in the kernel (map sx_l7_slow, sextant_l7_slow.bpf.h): an HTTP exchange of an edge with
 * its own threshold is kept as slow when its latency reaches that threshold instead of the global one
 * (sx_l7_config.slow_ns). An edge is what the kernel sees of it: a server-role socket's local port, a client-role
 * socket's remote address and port (as in the aggregates: L7AggregateRecord.lport / raddr + rport).
 */
import { SX_DIR_CLIENT, SX_DIR_SERVER, SX_L7_SLOW_KEY_LAYOUT, SX_L7_SLOW_KEY_SIZE } from './generated/events';
import { ipBytes } from './addresses';
import { check, type MapInfo, type NativeAddon } from './native';

export interface SlowEdgeThreshold {
  role: 'client' | 'server';
  family: 4 | 6;
  /** Client role: the server's address (as L7AggregateRecord.raddr); ignored for the server role. */
  addr: string;
  /** Client role: the server's port (rport); server role: the local (listening) port (lport). */
  port: number;
  thresholdNs: bigint;
}

/** The sx_l7_slow key of an edge. */
export function slowEdgeKey(e: Omit<SlowEdgeThreshold, 'thresholdNs'>): Buffer {
  const L = SX_L7_SLOW_KEY_LAYOUT;
  const k = Buffer.alloc(SX_L7_SLOW_KEY_SIZE);
  k[L.role!.offset] = e.role === 'client' ? SX_DIR_CLIENT : SX_DIR_SERVER;
  k[L.family!.offset] = e.family;
  k.writeUInt16LE(e.port, L.port!.offset);
  if (e.role === 'client') ipBytes(e.addr, e.family).copy(k, L.addr!.offset);
  return k;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/** The map's entries as last written, so that each update writes only what changed. */
export class SlowEdgeMap {
  private readonly current = new Map<string, bigint>();

  constructor(
    private readonly addon: NativeAddon,
    private readonly map: () => MapInfo,
  ) {}

  /**
   * Makes the map hold exactly `edges` (the first max_entries of them): removed edges deleted, new and changed ones
   * written. Returns how many edges the map holds.
   */
  replace(edges: readonly SlowEdgeThreshold[]): number {
    const m = this.map();
    const want = new Map<string, bigint>();
    for (const e of edges) {
      if (want.size >= m.maxEntries) break;
      if (e.thresholdNs <= 0n) continue;
      want.set(slowEdgeKey(e).toString('hex'), e.thresholdNs);
    }
    for (const k of this.current.keys()) {
      if (want.has(k)) continue;
      const r = this.addon.mapDelete(m.fd, Buffer.from(k, 'hex'));
      if (r !== -2) check('delete sx_l7_slow', r); // (-ENOENT: already gone)
      this.current.delete(k);
    }
    for (const [k, t] of want) {
      if (this.current.get(k) === t) continue;
      check('update sx_l7_slow', this.addon.mapUpdate(m.fd, Buffer.from(k, 'hex'), u64(t), 0));
      this.current.set(k, t);
    }
    return this.current.size;
  }
}
