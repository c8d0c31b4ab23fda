/**
 * Record work shed when the collector falls behind its L7 ring (docs/l7-line-rate.md, "Bounded memory"). The
 * backlog itself is bounded before it reaches JS — the kernel ring (SEXTANT_L7_RING_MB; a full ring drops the record
 * and counts it) and one batch of ≤ 256 KiB at a time from the native reader, one per turn of the event loop — so
 * the heap does not grow with it; what falling behind costs is time: every stale record still parsed, paired, named
 * and shipped delays the TCP events (the flows) queued behind it, until their ring overflows too. So each batch is
 * looked at on arrival: how long ago the kernel wrote its newest record (bpf_ktime and process.hrtime are both
 * CLOCK_MONOTONIC). Behind by the bound or more, the records of exchanges the kernel aggregates already counted are
 * dropped before any work, cheapest to lose first — sampled successes, then (2× the bound) on-demand capture and slow
 * ones, then (4×) errors and full-path records (DNS, Kafka, HTTP on the full path: their count goes with them, as
 * with a full ring) — and counted per reason. TCP events and the kernel aggregates are never shed.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { L7Sampling } from '@sextant/shared';

/** What a shed record was kept for: its sampling reason, or `full` for a full-path record. */
export type ShedReason = L7Sampling | 'full';

/** sx_l7_header.kept → reason (0: full path). */
const REASONS: readonly ShedReason[] = ['full', 'error', 'slow', 'capture', 'sampled'];
/** How far behind (in multiples of the bound) a record of each reason is shed. */
const TIER: Readonly<Record<ShedReason, number>> = { sampled: 1, capture: 2, slow: 2, error: 4, full: 4 };
/**
 * How much V8 heap in use (in multiples of the heap bound, after a full collection) sheds a record of each reason. Errors
 * and full-path records only far past it: a full-path record is the only count of its exchange, and full mode holds each
 * closed connection's parser 2 s (a 1.5× tier shed 4,367 of 23,184 exchanges of l7-churn's 7.5k connections/s).
 */
const HEAP_TIER: Readonly<Record<ShedReason, number>> = { sampled: 1, capture: 1.5, slow: 1.5, error: 4, full: 4 };
/** A full collection forced at most this often while the heap is over its bound. */
const COLLECT_EVERY_MS = 1_000;

export interface ShedStats {
  /** Records shed, per reason. */
  records: Record<ShedReason, number>;
  /** Batches that arrived behind by the bound or more. */
  lateBatches: number;
  /** Batches that arrived with the V8 heap in use over its bound after a full collection. */
  heapBatches: number;
  /** Full collections forced because the heap was over its bound. */
  forcedCollections: number;
}

interface Shedable {
  readonly tsNs: bigint;
  readonly kept: number;
}

export interface HeapBoundOptions {
  /** V8 heap in use at which record work is shed, MB (0: never). */
  maxHeapMb: number;
  /** Bytes of V8 heap in use now (default: v8.getHeapStatistics().used_heap_size). */
  heapUsed?: () => number;
  /** A full garbage collection (default: V8's gc, exposed at first use). */
  collect?: () => void;
  nowMs?: () => number;
}

export class RecordShedder {
  private readonly maxLagNs: bigint;
  private readonly maxHeapBytes: number;
  private readonly heapUsed: () => number;
  private readonly collect: () => void;
  private readonly nowMs: () => number;
  private lastCollectMs = -Infinity;
  /** Heap in use after the last forced collection, in multiples of the bound. */
  private liveLevel = 0;
  readonly stats: ShedStats = {
    records: { sampled: 0, capture: 0, slow: 0, error: 0, full: 0 },
    lateBatches: 0,
    heapBatches: 0,
    forcedCollections: 0,
  };

  /** maxLagMs 0: never shed for lag; heap.maxHeapMb 0 (the default): never for memory. */
  constructor(
    maxLagMs: number,
    private readonly nowNs: () => bigint = () => process.hrtime.bigint(),
    heap: HeapBoundOptions = { maxHeapMb: 0 },
  ) {
    this.maxLagNs = BigInt(maxLagMs) * 1_000_000n;
    this.maxHeapBytes = heap.maxHeapMb * 1_048_576;
    this.heapUsed = heap.heapUsed ?? (() => v8.getHeapStatistics().used_heap_size);
    this.collect = heap.collect ?? fullCollection;
    this.nowMs = heap.nowMs ?? Date.now;
  }

  /** The batch's records worth working on (the batch itself when it is neither behind nor over the heap bound). */
  filter<R extends Shedable>(batch: readonly R[]): readonly R[] {
    if (batch.length === 0) return batch;
    const lag = this.lagLevel(batch);
    const heap = this.heapLevel();
    if (lag < 1 && heap < 1) return batch;
    if (lag >= 1) this.stats.lateBatches++;
    if (heap >= 1) this.stats.heapBatches++;
    const out: R[] = [];
    for (const r of batch) {
      const reason = REASONS[r.kept] ?? 'full';
      if (lag >= TIER[reason] || heap >= HEAP_TIER[reason]) this.stats.records[reason]++;
      else out.push(r);
    }
    return out;
  }

  /** How far behind the batch's newest record is, in multiples of the lag bound (0 without one). */
  private lagLevel(batch: readonly Shedable[]): number {
    if (this.maxLagNs === 0n) return 0;
    let newest = 0n;
    for (const r of batch) if (r.tsNs > newest) newest = r.tsNs;
    const lag = this.nowNs() - newest;
    return lag < this.maxLagNs ? 0 : Number((lag * 1000n) / this.maxLagNs) / 1000;
  }

  /**
   * V8 heap in use, in multiples of the heap bound (0 without one or under it). In use counts garbage too: over the
   * bound, a full collection (at most one a second) tells what is live, and that decides until the next one.
   */
  private heapLevel(): number {
    if (this.maxHeapBytes === 0 || this.heapUsed() < this.maxHeapBytes) return 0;
    const now = this.nowMs();
    if (now - this.lastCollectMs >= COLLECT_EVERY_MS) {
      this.lastCollectMs = now;
      this.stats.forcedCollections++;
      this.collect();
      this.liveLevel = this.heapUsed() / this.maxHeapBytes;
    }
    return this.liveLevel;
  }
}

let gc: (() => void) | undefined;
/** V8's full garbage collection, exposed on first use (node's --expose-gc, set at run time, in a fresh context). */
function fullCollection(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}
