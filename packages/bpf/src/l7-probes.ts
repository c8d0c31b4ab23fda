/**
 * The L7 signals mode's maps (docs/l7-line-rate.md): the config the programs read (sx_l7_config) and the two
 * generations of HTTP aggregates (sx_l7_agg0 / sx_l7_agg1). SextantProbes delegates to L7Signals.
 */
import { fromSparse, mergeInto, toSparse, type Histogram } from '@sextant/shared';
import { formatIp } from './addresses';
import {
  decodeSxL7AggKey,
  decodeSxL7AggValue,
  SX_DIR_CLIENT,
  SX_HIST_HTTP,
  SX_HTTP_METHOD_DELETE,
  SX_HTTP_METHOD_GET,
  SX_HTTP_METHOD_HEAD,
  SX_HTTP_METHOD_OPTIONS,
  SX_HTTP_METHOD_PATCH,
  SX_HTTP_METHOD_POST,
  SX_HTTP_METHOD_PUT,
  SX_L7_AGG_KEY_SIZE,
  SX_L7_AGG_VALUE_LAYOUT,
  SX_L7_CONFIG_LAYOUT,
  SX_L7_CONFIG_SIZE,
  SX_L7_MODE_FULL,
  SX_L7_MODE_HOOKS,
  SX_L7_MODE_SIGNALS,
  SX_TLS_NODE,
  SX_TLS_OPENSSL,
} from './generated/events';
import { check, type MapInfo, type NativeAddon } from './native';
import type { HistogramRecord } from './probe-types';
import { SlowEdgeMap, type SlowEdgeThreshold } from './slow-edges';

export type L7Mode = 'full' | 'signals' | 'hooks';
export const L7_MODES: Record<L7Mode, number> = { full: SX_L7_MODE_FULL, signals: SX_L7_MODE_SIGNALS, hooks: SX_L7_MODE_HOOKS };

export const HTTP_METHODS: Record<number, string> = {
  [SX_HTTP_METHOD_GET]: 'GET',
  [SX_HTTP_METHOD_POST]: 'POST',
  [SX_HTTP_METHOD_PUT]: 'PUT',
  [SX_HTTP_METHOD_DELETE]: 'DELETE',
  [SX_HTTP_METHOD_HEAD]: 'HEAD',
  [SX_HTTP_METHOD_PATCH]: 'PATCH',
  [SX_HTTP_METHOD_OPTIONS]: 'OPTIONS',
};

export interface L7Config {
  /** Exchanges at least this slow are recorded (kept = slow); 0 = no slow rule. */
  slowNs: number | bigint;
  /** Every exchange is recorded (kept = capture) while bpf_ktime_get_ns() (CLOCK_MONOTONIC) is below this; 0 = off. */
  recordAllUntilNs: number | bigint;
  /** Successes recorded per second per host (kept = sampled), split evenly over the possible CPUs. */
  budgetPerSec: number;
}

export const DEFAULT_L7_CONFIG: L7Config = { slowNs: 250_000_000, recordAllUntilNs: 0, budgetPerSec: 500 };

/** One HTTP aggregate drained from the kernel: every exchange of one (process, endpoints, role, method, status). */
export interface L7AggregateRecord {
  cgroupId: bigint;
  pid: number;
  comm: string;
  family: 4 | 6;
  laddr: string;
  raddr: string;
  /** 0 for the client role (ephemeral). */
  lport: number;
  /** 0 for the server role. */
  rport: number;
  role: 'client' | 'server';
  protocol: 'http';
  method: string;
  status: number;
  /** Plaintext read by the TLS uprobes (libssl, node); absent: cleartext. */
  tls?: 'openssl' | 'node';
  count: number;
  latencySumNs: bigint;
  /**
   * Bytes the exchanges' requests and responses moved (as the full path's records count them). A response's chunks
   * after its first come in the window when its socket's next exchange starts or it closes: a key may have count 0
   * and bytes only.
   */
  requestBytes: number;
  responseBytes: number;
  /** bpf_ktime_get_ns (CLOCK_MONOTONIC) of the first and last exchange in this window. */
  firstNs: bigint;
  lastNs: bigint;
  /** Sparse latency histogram in the shared bucket scheme. */
  idx: number[];
  cnt: number[];
}

/**
 * CLOCK_MONOTONIC nanoseconds (what bpf_ktime_get_ns returns) of a wall-clock epoch time in ms. Node's hrtime
 * is CLOCK_MONOTONIC on Linux.
 */
export function monotonicNsFromEpochMs(epochMs: number, nowMs = Date.now(), nowMono = process.hrtime.bigint()): bigint {
  const ns = nowMono + BigInt(Math.round((epochMs - nowMs) * 1e6));
  return ns < 0n ? 0n : ns;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long programs that read the old generation may still be writing its map. */
const IN_FLIGHT_MS = 20;

function toBig(v: number | bigint, what: string): bigint {
  const b = typeof v === 'bigint' ? v : Number.isFinite(v) ? BigInt(Math.round(v)) : -1n;
  if (b < 0n || b >= 1n << 64n) throw new RangeError(`${what} must be a non-negative 64-bit integer, got ${v}`);
  return b;
}

export interface L7MapAccess {
  addon: NativeAddon;
  cpus: number;
  map(name: string): MapInfo;
  drain(name: string): [Buffer, Buffer][];
}

export class L7Signals {
  private gen = 0n;
  private config: { slowNs: bigint; recordAllUntilNs: bigint; budgetPerCpu: number } = {
    slowNs: 0n,
    recordAllUntilNs: 0n,
    budgetPerCpu: 0,
  };
  private draining: Promise<unknown> = Promise.resolve();
  private readonly slow: SlowEdgeMap;
  /** Edges with their own slow threshold in sx_l7_slow (sx_l7_config.slow_edges; 0: the map is not looked up). */
  private slowEdges = 0;
  /** sx_l7_config.slow_gen: changed whenever the thresholds may have (never 0), so that sockets read theirs again. */
  private slowGen = 0;

  constructor(private readonly m: L7MapAccess) {
    this.slow = new SlowEdgeMap(m.addon, () => m.map('sx_l7_slow'));
  }

  /** Per-edge slow thresholds (slow-edges.ts) replace the previous ones; returns how many the kernel holds. */
  setSlowEdges(edges: readonly SlowEdgeThreshold[]): number {
    this.slowEdges = this.slow.replace(edges);
    this.nextSlowGen();
    this.write();
    return this.slowEdges;
  }

  setConfig(cfg: L7Config): void {
    const { budgetPerSec } = cfg;
    if (!Number.isInteger(budgetPerSec) || budgetPerSec < 0 || budgetPerSec > 0xffffffff)
      throw new RangeError(`budgetPerSec must be an integer 0..2^32-1, got ${budgetPerSec}`);
    this.config = {
      slowNs: toBig(cfg.slowNs, 'slowNs'),
      recordAllUntilNs: toBig(cfg.recordAllUntilNs, 'recordAllUntilNs'),
      budgetPerCpu: Math.ceil(budgetPerSec / this.m.cpus),
    };
    this.nextSlowGen();
    this.write();
  }

  private nextSlowGen(): void {
    this.slowGen = (this.slowGen % 0xffffffff) + 1;
  }

  private write(): void {
    const L = SX_L7_CONFIG_LAYOUT;
    const v = Buffer.alloc(SX_L7_CONFIG_SIZE);
    v.writeBigUInt64LE(this.gen, L.gen!.offset);
    v.writeBigUInt64LE(this.config.slowNs, L.slow_ns!.offset);
    v.writeBigUInt64LE(this.config.recordAllUntilNs, L.record_all_until_ns!.offset);
    v.writeUInt32LE(this.config.budgetPerCpu, L.budget_per_cpu!.offset);
    v.writeUInt32LE(this.slowEdges, L.slow_edges!.offset);
    v.writeUInt32LE(this.slowGen, L.slow_gen!.offset);
    const m = this.m.map('sx_l7_config');
    check('update sx_l7_config', this.m.addon.mapUpdate(m.fd, Buffer.alloc(4), v, 0));
  }

  /** Flips the generation, waits for programs in flight, then reads and deletes every aggregate of the old one. */
  drain(): Promise<L7AggregateRecord[]> {
    const run = this.draining.then(async () => {
      const old = this.gen;
      this.gen += 1n;
      this.write();
      await sleep(IN_FLIGHT_MS);
      const odd = old & 1n;
      const entries = [...this.drainSlots(odd ? 1 : 0), ...this.m.drain(odd ? 'sx_l7_agg1' : 'sx_l7_agg0')];
      return mergeByKey(entries).map(([k, v]) => decodeAggregate(k, v));
    });
    this.draining = run.catch(() => undefined);
    return run;
  }

  /**
   * The taken slots of a generation's slot array (sextant_l7_agg.bpf.h: a u64 state, the key, the value), found by its
   * bits in sx_l7_aggs_used, each read and then zeroed, and then the bits: the kernel writes the generation no more
   * (the flip and IN_FLIGHT_MS before).
   */
  private drainSlots(gen: 0 | 1): [Buffer, Buffer][] {
    const name = `sx_l7_aggs${gen}`;
    const m = this.m.map(name);
    const u = this.m.map('sx_l7_aggs_used');
    const genKey = Buffer.alloc(4);
    genKey.writeUInt32LE(gen);
    const used = check<Buffer | null>('lookup sx_l7_aggs_used', this.m.addon.mapLookup(u.fd, genKey, u.valueSize));
    const out: [Buffer, Buffer][] = [];
    if (!used) return out;
    const zero = Buffer.alloc(m.valueSize);
    const index = Buffer.alloc(4);
    for (let i = 0; i < Math.min(m.maxEntries, used.length * 8); i++) {
      if (!(used[i >> 3]! & (1 << (i & 7)))) continue;
      index.writeUInt32LE(i);
      const slot = check<Buffer | null>(`lookup ${name}`, this.m.addon.mapLookup(m.fd, index, m.valueSize));
      if (!slot || slot.readBigUInt64LE(0) === 0n) continue;
      out.push([slot.subarray(8, 8 + SX_L7_AGG_KEY_SIZE), slot.subarray(8 + SX_L7_AGG_KEY_SIZE)]);
      check(`reset ${name}`, this.m.addon.mapUpdate(m.fd, index, zero, 0));
    }
    check('reset sx_l7_aggs_used', this.m.addon.mapUpdate(u.fd, genKey, Buffer.alloc(u.valueSize), 0));
    return out;
  }
}

/**
 * Aggregates with the same key added up (a key may be in its slot and in the hash map in one generation): counts,
 * sums and histogram buckets added, the first time the earliest, the last the latest, the name the first's.
 */
export function mergeByKey(entries: readonly [Buffer, Buffer][]): [Buffer, Buffer][] {
  const L = SX_L7_AGG_VALUE_LAYOUT;
  const byKey = new Map<string, [Buffer, Buffer]>();
  for (const [k, v] of entries) {
    const id = k.toString('latin1');
    const into = byKey.get(id);
    if (!into) {
      byKey.set(id, [k, v]);
      continue;
    }
    const a = Buffer.from(into[1]);
    const add = (offset: number) => a.writeBigUInt64LE(a.readBigUInt64LE(offset) + v.readBigUInt64LE(offset), offset);
    for (const f of [L.count!, L.latency_sum_ns!, L.request_bytes!, L.response_bytes!]) add(f.offset);
    for (let i = 0; i < L.hist!.count; i++) add(L.hist!.offset + i * 8);
    const first = [a.readBigUInt64LE(L.first_ns!.offset), v.readBigUInt64LE(L.first_ns!.offset)].filter((t) => t > 0n);
    if (first.length)
      a.writeBigUInt64LE(
        first.reduce((x, y) => (x < y ? x : y)),
        L.first_ns!.offset,
      );
    const last = v.readBigUInt64LE(L.last_ns!.offset);
    if (last > a.readBigUInt64LE(L.last_ns!.offset)) a.writeBigUInt64LE(last, L.last_ns!.offset);
    byKey.set(id, [into[0], a]);
  }
  return [...byKey.values()];
}

const TLS_SOURCES: Record<number, 'openssl' | 'node'> = { [SX_TLS_OPENSSL]: 'openssl', [SX_TLS_NODE]: 'node' };

function decodeAggregate(k: Buffer, v: Buffer): L7AggregateRecord {
  const key = decodeSxL7AggKey(k);
  const val = decodeSxL7AggValue(v);
  const family = key.family === 6 ? 6 : 4;
  const idx: number[] = [];
  const cnt: number[] = [];
  const hist = SX_L7_AGG_VALUE_LAYOUT.hist!;
  for (let i = 0; i < hist.count; i++) {
    const c = Number(v.readBigUInt64LE(hist.offset + i * 8));
    if (c > 0) {
      idx.push(i);
      cnt.push(c);
    }
  }
  const tls = TLS_SOURCES[key.tls];
  return {
    ...(tls ? { tls } : {}),
    cgroupId: key.cgroupId,
    pid: key.pid,
    comm: val.comm,
    family,
    laddr: formatIp(key.laddr, family),
    raddr: formatIp(key.raddr, family),
    lport: key.lport,
    rport: key.rport,
    role: key.role === SX_DIR_CLIENT ? 'client' : 'server',
    protocol: 'http',
    method: HTTP_METHODS[key.method] ?? `method ${key.method}`,
    status: key.status,
    count: Number(val.count),
    latencySumNs: val.latencySumNs,
    requestBytes: Number(val.requestBytes),
    responseBytes: Number(val.responseBytes),
    firstNs: val.firstNs,
    lastNs: val.lastNs,
    idx,
    cnt,
  };
}

/**
 * The latency histograms (readAndResetHistograms) with the HTTP client latencies the kernel keeps only in its
 * aggregates: an exchange aggregated on a client socket in signals mode is not recorded in sx_hist (its latency,
 * request written → first response bytes, is its aggregate's histogram, the same value), so each client-role
 * aggregate's buckets are added to the HTTP histogram of its (cgroup, remote address, remote port), as sx_hist keys
 * them. Histograms of the same key are merged; new keys follow the given ones. The inputs are not changed.
 */
export function withAggregateHistograms(hists: readonly HistogramRecord[], aggregates: readonly L7AggregateRecord[]): HistogramRecord[] {
  const keyOf = (cgroupId: bigint, ip: string, port: number) => `${cgroupId}|${ip}|${port}`;
  const out: HistogramRecord[] = [...hists];
  const added = new Map<string, { at: number; buckets: Histogram }>();
  const http = new Map<string, number>();
  hists.forEach((h, i) => {
    if (h.kind === SX_HIST_HTTP) http.set(keyOf(h.cgroupId, h.remoteIp, h.remotePort), i);
  });
  for (const a of aggregates) {
    // (sx_hist has no client histogram without a remote port; bytes-only keys have no buckets)
    if (a.role !== 'client' || a.rport === 0 || a.idx.length === 0) continue;
    const key = keyOf(a.cgroupId, a.raddr, a.rport);
    let entry = added.get(key);
    if (!entry) {
      const at = http.get(key);
      entry = { at: at ?? out.length, buckets: at !== undefined ? fromSparse(out[at]!) : new Map() };
      if (at === undefined)
        out.push({ cgroupId: a.cgroupId, remoteIp: a.raddr, remotePort: a.rport, kind: SX_HIST_HTTP, idx: [], cnt: [] });
      added.set(key, entry);
    }
    mergeInto(entry.buckets, fromSparse(a));
  }
  for (const { at, buckets } of added.values()) out[at] = { ...out[at]!, ...toSparse(buckets) };
  return out;
}
