/**
 * Per-edge slow thresholds (docs/l7-line-rate.md, keep rules): an HTTP exchange is recorded as slow when it is slow
 * for its own edge, not against one host-wide number. From every drain of the kernel aggregates, each edge's latency
 * histogram (its exchanges below 500: errors are recorded anyway) joins a sliding window of the last few drains; an
 * edge with enough exchanges in the window gets its p99 as threshold, clamped to [min, max]; the busiest edges up to
 * a bound get one, the others keep the global threshold. An edge is what the kernel keys it by (sx_l7_slow): a
 * server-role socket's local port, a client-role socket's remote address and port.
 */
import type { L7AggregateRecord, SlowEdgeThreshold } from '@sextant/bpf';
import { fromSparse, mergeInto, quantile, totalCount, type Histogram } from '@sextant/shared';

export interface SlowThresholdOptions {
  /** Clamp of a threshold, ns: an edge's p99 below min gives min, above max gives max. */
  minNs: number;
  maxNs: number;
  /** Edges that get their own threshold at most (the busiest in the window). */
  maxEdges: number;
  /** Drains in the window (default 6: a minute at the default 10 s drain interval). */
  windowDrains?: number;
  /** Exchanges an edge needs in the window to get its own threshold (default 200). */
  minSamples?: number;
  /** The quantile of the edge's latency that is its threshold (default 0.99). */
  quantile?: number;
}

type Edge = Omit<SlowEdgeThreshold, 'thresholdNs'>;

interface EdgeWindow {
  edge: Edge;
  hist: Histogram;
}

export class SlowThresholds {
  private readonly drains: Map<string, EdgeWindow>[] = [];
  private readonly windowDrains: number;
  private readonly minSamples: number;
  private readonly q: number;
  /** Edges given their own threshold by the last observe(). */
  edges = 0;

  constructor(private readonly opts: SlowThresholdOptions) {
    this.windowDrains = Math.max(1, opts.windowDrains ?? 6);
    this.minSamples = Math.max(1, opts.minSamples ?? 200);
    this.q = opts.quantile ?? 0.99;
  }

  /** Adds one drain's aggregates to the window; returns the thresholds of the edges that have one now. */
  observe(records: readonly L7AggregateRecord[]): SlowEdgeThreshold[] {
    const drain = new Map<string, EdgeWindow>();
    for (const r of records) {
      if (r.count <= 0 || r.status >= 500) continue;
      const edge: Edge =
        r.role === 'client'
          ? { role: 'client', family: r.family, addr: r.raddr, port: r.rport }
          : { role: 'server', family: r.family, addr: '', port: r.lport };
      const key = `${edge.role}|${edge.family}|${edge.addr}|${edge.port}`;
      let w = drain.get(key);
      if (!w) drain.set(key, (w = { edge, hist: new Map() }));
      mergeInto(w.hist, fromSparse(r));
    }
    this.drains.push(drain);
    while (this.drains.length > this.windowDrains) this.drains.shift();

    const merged = new Map<string, EdgeWindow>();
    for (const d of this.drains)
      for (const [key, w] of d) {
        const m = merged.get(key);
        if (m) mergeInto(m.hist, w.hist);
        else merged.set(key, { edge: w.edge, hist: new Map(w.hist) });
      }
    const busy = [...merged.values()]
      .map((w) => ({ ...w, n: totalCount(w.hist) }))
      .filter((w) => w.n >= this.minSamples)
      .sort((a, b) => b.n - a.n)
      .slice(0, Math.max(0, this.opts.maxEdges));
    const out = busy.map((w) => ({ ...w.edge, thresholdNs: BigInt(Math.round(this.clamp(quantile(w.hist, this.q) ?? 0))) }));
    this.edges = out.length;
    return out;
  }

  private clamp(ns: number): number {
    return Math.min(this.opts.maxNs, Math.max(this.opts.minNs, ns));
  }
}
