/** The collector's health report: what it saw, what it lost, what waits in its spool. */
import os from 'node:os';
import type { ProbeCounters } from '@sextant/bpf';
import type { CollectorHealthReport } from '@sextant/shared';
import type { ShipperStats } from './shipper';
import type { SpoolStats } from './spool';

export const COLLECTOR_VERSION = '0.1.0';

export class HealthTracker {
  private lastEvents = 0;
  private lastAt = Date.now();

  constructor(
    private readonly nodeName: string,
    private readonly ebpf: { available: boolean; reason?: string },
  ) {}

  report(counters: ProbeCounters | null, shipper: ShipperStats, spool: SpoolStats, eventsTotal: number): CollectorHealthReport {
    const now = Date.now();
    const rate = ((eventsTotal - this.lastEvents) * 1000) / Math.max(1, now - this.lastAt);
    this.lastEvents = eventsTotal;
    this.lastAt = now;
    const lostKernel = counters ? counters.ringbufFull + counters.queueDroppedRecords + counters.sockMapFull + counters.udpMapFull + counters.dropMapFull + counters.histMapFull : 0;
    return {
      time: now,
      version: COLLECTOR_VERSION,
      kernel: os.release(),
      hostname: this.nodeName,
      eventsPerSecond: Math.round(rate * 10) / 10,
      lostEvents: lostKernel + spool.droppedRecords + shipper.rejectedRecords,
      parsedBytes: 0,
      unparsedBytes: 0,
      spoolBytes: spool.bytes,
      ebpf: this.ebpf,
      details: {
        ringbufFull: counters?.ringbufFull ?? 0,
        queueDropped: counters?.queueDroppedRecords ?? 0,
        mapFull: counters ? counters.sockMapFull + counters.udpMapFull + counters.dropMapFull + counters.histMapFull : 0,
        spoolDroppedRecords: spool.droppedRecords,
        rejectedRecords: shipper.rejectedRecords,
        sentRecords: shipper.sentRecords,
        failedAttempts: shipper.failedAttempts,
        spoolFiles: spool.files,
      },
    };
  }
}
