/**
 * Record work shed when the collector falls behind its L7 ring (docs/l7-line-rate.md, "Bounded memory"). The
 * backlog itself is bounded before it reaches JS — the kernel ring (SEXTANT_L7_RING_MB; a full ring drops the record
 * and counts it) and one batch of ≤ 256 KiB at a time from the native reader, one per turn of the event loop — so
 * the heap does not grow with it; what falling behind costs is time: every stale record still parsed, paired, named
 * and shipped delays the TCP events (the flows) queued behind it, until their ring overflows too. So each batch is
 * looked at on arrival: how long ago the kernel wrote its records (bpf_ktime and process.hrtime are both
 * CLOCK_MONOTONIC). Behind by the bound or more, the records of exchanges the kernel aggregates already counted are
 * dropped before any work, cheapest to lose first — sampled successes, then (2× the bound) on-demand capture and slow
 * ones, then (4×) errors and full-path records (DNS, Kafka, HTTP on the full path: their count goes with them, as
 * with a full ring) — and counted per reason. TCP events and the kernel aggregates are never shed.
 *
 * An aggregated exchange's records (kept != 0) are judged together, by the newest capture time among them: the kernel
 * emits its stashed request (captured when the request was sent) with its first response chunk, so the request's own
 * time says how slow the exchange was, not how long the record waited. A stale exchange is shed whatever else its
 * batch holds (a batch judged by its newest record kept a backlog read together with other processes' fresh records).
 * A full-path record (kept 0) is judged by its batch's newest record: it may be a request flushed at its socket's close,
 * emitted long after its capture time, with nothing of its exchange after it, and it is its exchange's only count.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { SX_DIR_CLIENT, SX_L7_EGRESS } from '@sextant/bpf';
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
  /** Batches holding records behind by the bound or more (an aggregated exchange's newest, a full-path record's batch's). */
  lateBatches: number;
  /** Batches that arrived with the V8 heap in use over its bound after a full collection. */
  heapBatches: number;
  /** Full collections forced because the heap was over its bound. */
  forcedCollections: number;
}

/** The header fields shedding reads (L7Record's getters). */
interface Shedable {
  readonly tsNs: bigint;
  readonly kept: number;
  /** The socket's inode (unique per socket). */
  readonly sockIno: bigint;
  /** SX_L7_EGRESS / SX_L7_INGRESS. */
  readonly direction: number;
  /** The socket's role, SX_DIR_CLIENT / SX_DIR_SERVER. */
  readonly role: number;
}

/** A record of the request side (the kernel's own test: an aggregated socket's request starts its next exchange). */
const isRequest = (r: Shedable): boolean => (r.direction === SX_L7_EGRESS) === (r.role === SX_DIR_CLIENT);

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
  /** Lag at which a record is shed, per sx_l7_header.kept (TIER × the bound). */
  private readonly tierNs: readonly bigint[];
  /** Capture time at or before which a record is shed this batch, per kept (now − tierNs). */
  private readonly cut: bigint[] = [0n, 0n, 0n, 0n, 0n];
  /** Per socket, the newest capture time of the exchange being walked back through (the batch, newest first). */
  private readonly exchangeNewest = new Map<bigint, bigint>();
  /**
   * Aggregated requests held over from the last batch: stale by their own time, their response (emitted right after
   * them, in the same program run) not yet read. Judged with the next batch, which holds it, and passed on ahead of it.
   */
  private held: Shedable[] = [];
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
    this.tierNs = REASONS.map((r) => this.maxLagNs * BigInt(TIER[r]));
    this.maxHeapBytes = heap.maxHeapMb * 1_048_576;
    this.heapUsed = heap.heapUsed ?? (() => v8.getHeapStatistics().used_heap_size);
    this.collect = heap.collect ?? fullCollection;
    this.nowMs = heap.nowMs ?? Date.now;
  }

  /**
   * The batch's records worth working on (the batch itself when nothing in it is behind and the heap is under its
   * bound), preceded by any request held over from the last batch and kept.
   */
  filter<R extends Shedable>(batch: readonly R[]): readonly R[] {
    if (batch.length === 0) return batch;
    const heap = this.heapLevel();
    const held = this.held as R[];
    const lagged = this.maxLagNs !== 0n;
    const now = lagged ? this.nowNs() : 0n;
    let newest = 0n;
    let oldestKept = now;
    if (lagged)
      for (const r of batch) {
        const ts = r.tsNs;
        if (ts > newest) newest = ts;
        if (ts < oldestKept && r.kept !== 0) oldestKept = ts;
      }
    const late = now - this.maxLagNs;
    // nothing behind (no aggregated record, nor the batch's newest, as old as the bound), nothing held, heap under
    if (!(lagged && (oldestKept <= late || newest <= late)) && held.length === 0 && heap < 1) return batch;

    const cut = this.cut;
    for (let k = 0; k < cut.length; k++) cut[k] = lagged ? now - this.tierNs[k]! : -1n;
    const byExchange = lagged && (oldestKept <= late || held.length > 0);
    const exchangeNewest = this.exchangeNewest;
    let isLate = lagged && newest <= late;
    const out: R[] = [];
    const hold: R[] = [];
    // Newest first: an aggregated record finds in exchangeNewest the newest time of its socket's records after it,
    // up to the socket's next request (the next exchange's), which ends the walk back through this one.
    for (let i = batch.length + held.length - 1; i >= 0; i--) {
      const r = i >= held.length ? batch[i - held.length]! : held[i]!;
      const kept = r.kept < REASONS.length ? r.kept : 0;
      const reason = REASONS[kept]!;
      let ts = newest;
      if (kept !== 0 && byExchange) {
        ts = r.tsNs;
        const sock = r.sockIno;
        const after = exchangeNewest.get(sock);
        if (after !== undefined && after > ts) ts = after;
        if (!isRequest(r)) exchangeNewest.set(sock, ts);
        else if (after !== undefined) exchangeNewest.delete(sock);
        else if (ts <= cut[kept]! && i >= held.length && heap < HEAP_TIER[reason]) {
          // its response is in the next batch (or lost): judged with it there
          hold.push(r);
          continue;
        }
        if (ts <= late) isLate = true;
      } else if (kept !== 0) ts = now;
      if (ts <= cut[kept]! || heap >= HEAP_TIER[reason]) this.stats.records[reason]++;
      else out.push(r);
    }
    exchangeNewest.clear();
    this.held = hold.reverse();
    if (isLate) this.stats.lateBatches++;
    if (heap >= 1) this.stats.heapBatches++;
    return out.length === batch.length && held.length === 0 ? batch : out.reverse();
  }

  /**
   * At stop: the requests still held (stale, their response never read) are shed and counted, as the next batch
   * would have done with them.
   */
  stop(): void {
    for (const r of this.held) this.stats.records[REASONS[r.kept < REASONS.length ? r.kept : 0]!]++;
    this.held = [];
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
