/** The collector's health report: what it saw, what it lost, what waits in its spool. */
import os from 'node:os';
import type { ProbeCounters } from '@sextant/bpf';
import type { CollectorHealthReportInput } from '@sextant/shared';
import type { L7Stats } from '../l7/types';
import type { L7AggregateStats } from './l7-aggregates';
import type { ShedStats } from './record-shedding';
import type { ShipperStats } from './shipper';
import type { SpoolStats } from './spool';

export const COLLECTOR_VERSION = '0.1.0';

const mb = (bytes: number) => Math.round(bytes / 104_857.6) / 10;

/**
 * Where the collector's memory is, MiB: resident (rss: V8 heap, native allocations, the node binary and the BPF
 * rings, which are resident in full), V8's heap (used / reserved), memory outside it held by JS objects (external;
 * arrayBuffers: the ring batches and socket buffers among them).
 */
export function memoryDetails(): Record<string, number> {
  const m = process.memoryUsage();
  return {
    memRssMb: mb(m.rss),
    memHeapUsedMb: mb(m.heapUsed),
    memHeapTotalMb: mb(m.heapTotal),
    memExternalMb: mb(m.external),
    memArrayBuffersMb: mb(m.arrayBuffers),
  };
}

export class HealthTracker {
  private lastEvents = 0;
  private lastAt = Date.now();

  constructor(
    private readonly nodeName: string,
    private readonly ebpf: { available: boolean; reason?: string },
  ) {}

  report(
    counters: ProbeCounters | null,
    shipper: ShipperStats,
    spool: SpoolStats,
    eventsTotal: number,
    l7: (L7Stats & { recorded?: Record<string, number>; shed?: ShedStats }) | null = null,
    signals: { aggregates: L7AggregateStats; captureUntil: number | null; slowEdges?: number } | null = null,
  ): CollectorHealthReportInput {
    const now = Date.now();
    const rate = ((eventsTotal - this.lastEvents) * 1000) / Math.max(1, now - this.lastAt);
    this.lastEvents = eventsTotal;
    this.lastAt = now;
    const lostKernel = counters
      ? counters.ringbufFull +
        counters.queueDroppedRecords +
        counters.sockMapFull +
        counters.udpMapFull +
        counters.dropMapFull +
        counters.histMapFull +
        counters.l7RingbufFull +
        counters.l7SockMapFull +
        counters.l7ArgsMapFull
      : 0;
    const shed = l7?.shed?.records;
    const shedTotal = shed ? shed.sampled + shed.capture + shed.slow + shed.error + shed.full : 0;
    return {
      time: now,
      version: COLLECTOR_VERSION,
      kernel: os.release(),
      hostname: this.nodeName,
      eventsPerSecond: Math.round(rate * 10) / 10,
      lostEvents: lostKernel + spool.shedRecords + spool.droppedAggregates + shipper.rejectedRecords + shedTotal,
      parsedBytes: l7?.parsedBytes ?? 0,
      unparsedBytes: l7?.unparsedBytes ?? 0,
      spoolBytes: spool.bytes,
      deadLetterBatches: spool.deadLetterBatches,
      ebpf: this.ebpf,
      details: {
        ringbufFull: counters?.ringbufFull ?? 0,
        queueDropped: counters?.queueDroppedRecords ?? 0,
        mapFull: counters ? counters.sockMapFull + counters.udpMapFull + counters.dropMapFull + counters.histMapFull : 0,
        // Records shed from the spool to make room (their batches kept with their aggregates), and what went
        // only when aggregate-only batches alone passed the bound: batches, aggregate rows, their exchanges, histograms.
        spoolShedRecords: spool.shedRecords,
        spoolDroppedBatches: spool.droppedBatches,
        spoolDroppedAggregates: spool.droppedAggregates,
        spoolDroppedExchanges: spool.droppedExchanges,
        spoolDroppedHistograms: spool.droppedHistograms,
        rejectedRecords: shipper.rejectedRecords,
        deadLetterRecords: spool.deadLetterRecords,
        sentRecords: shipper.sentRecords,
        failedAttempts: shipper.failedAttempts,
        spoolFiles: spool.files,
        l7RingbufFull: counters?.l7RingbufFull ?? 0,
        l7Exchanges: l7?.exchanges ?? 0,
        l7Unanswered: l7?.unanswered ?? 0,
        l7EvictedConnections: l7?.evictedConnections ?? 0,
        // Signals mode (docs/l7-line-rate.md): aggregate keys drained and the exchanges they counted, records
        // kept by the kernel by reason, requests that could not be stashed and exchanges the aggregate map had
        // no room for (both put their socket on the full path: counted by records instead), the capture deadline.
        l7AggregateKeys: signals?.aggregates.keys ?? 0,
        l7AggregatedExchanges: signals?.aggregates.exchanges ?? 0,
        l7KeptError: counters?.l7KeptError ?? 0,
        l7KeptSlow: counters?.l7KeptSlow ?? 0,
        l7KeptCapture: counters?.l7KeptCapture ?? 0,
        l7KeptSampled: counters?.l7KeptSampled ?? 0,
        l7RecordedFull: l7?.recorded?.full ?? 0,
        l7UnmatchedSampled: l7?.unmatchedSampled ?? 0,
        l7StashFull: counters?.l7StashFull ?? 0,
        l7AggMapFull: counters?.l7AggMapFull ?? 0,
        l7FullSwitches: counters?.l7FullSwitches ?? 0,
        // Messages of recvmmsg calls with a timeout, not captured on the socket tracepoints (sextant_l7_sock.bpf.h).
        l7MmsgTimeout: counters?.l7MmsgTimeout ?? 0,
        l7CaptureUntil: signals?.captureUntil ?? 0,
        // Edges whose slow threshold is their own recent p99 (services/slow-thresholds.ts), not SEXTANT_L7_SLOW_MS.
        l7SlowEdges: signals?.slowEdges ?? 0,
        // Record work shed because the collector was behind its L7 ring (record-shedding.ts): records dropped before
        // any work, by what they were kept for (full: full-path records, whose exchanges go uncounted with them).
        l7ShedSampled: shed?.sampled ?? 0,
        l7ShedCapture: shed?.capture ?? 0,
        l7ShedSlow: shed?.slow ?? 0,
        l7ShedError: shed?.error ?? 0,
        l7ShedFull: shed?.full ?? 0,
        l7LateBatches: l7?.shed?.lateBatches ?? 0,
        l7HeapBatches: l7?.shed?.heapBatches ?? 0,
        l7ForcedCollections: l7?.shed?.forcedCollections ?? 0,
        ...memoryDetails(),
      },
    };
  }
}
