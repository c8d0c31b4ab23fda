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
import type { L7Sampling } from '@sextant/shared';

/** What a shed record was kept for: its sampling reason, or `full` for a full-path record. */
export type ShedReason = L7Sampling | 'full';

/** sx_l7_header.kept → reason (0: full path). */
const REASONS: readonly ShedReason[] = ['full', 'error', 'slow', 'capture', 'sampled'];
/** How far behind (in multiples of the bound) a record of each reason is shed. */
const TIER: Readonly<Record<ShedReason, bigint>> = { sampled: 1n, capture: 2n, slow: 2n, error: 4n, full: 4n };

export interface ShedStats {
  /** Records shed, per reason. */
  records: Record<ShedReason, number>;
  /** Batches that arrived behind by the bound or more. */
  lateBatches: number;
}

interface Shedable {
  readonly tsNs: bigint;
  readonly kept: number;
}

export class RecordShedder {
  private readonly maxLagNs: bigint;
  readonly stats: ShedStats = { records: { sampled: 0, capture: 0, slow: 0, error: 0, full: 0 }, lateBatches: 0 };

  /** maxLagMs 0: never shed. */
  constructor(
    maxLagMs: number,
    private readonly nowNs: () => bigint = () => process.hrtime.bigint(),
  ) {
    this.maxLagNs = BigInt(maxLagMs) * 1_000_000n;
  }

  /** The batch's records worth working on (the batch itself when it is not behind). */
  filter<R extends Shedable>(batch: readonly R[]): readonly R[] {
    if (this.maxLagNs === 0n || batch.length === 0) return batch;
    let newest = 0n;
    for (const r of batch) if (r.tsNs > newest) newest = r.tsNs;
    const lag = this.nowNs() - newest;
    if (lag < this.maxLagNs) return batch;
    this.stats.lateBatches++;
    const out: R[] = [];
    for (const r of batch) {
      const reason = REASONS[r.kept] ?? 'full';
      if (lag >= this.maxLagNs * TIER[reason]) this.stats.records[reason]++;
      else out.push(r);
    }
    return out;
  }
}
