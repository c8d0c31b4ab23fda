/**
 * Collector health as metric values, computed from each collector's last report: last seen, events/s,
 * kernel events lost (cumulative since the collector started), unparsed share of L7 bytes, spool size,
 * batches set aside as dead letters (refused 4xx by the server), what the spool lost to its bound.
 */
import { CollectorHealthReport } from '@sextant/shared';

export interface CollectorRow {
  name: string;
  lastSeenAt: Date | null;
  lastHealth: unknown;
}

export interface CollectorHealthValues {
  collector: string;
  lastSeenSeconds: number | null;
  eventsPerSecond: number | null;
  lostEvents: number | null;
  unparsedRatio: number | null;
  spoolBytes: number | null;
  deadLetterBatches: number | null;
  /** L7 records the collector shed because it fell behind, per reason (its health details l7Shed*), since it started. */
  shedRecords: Partial<Record<ShedReason, number>>;
  /**
   * What a collector's full spool lost, by kind (its health details spoolShedRecords, spoolDropped*), since it
   * started: records shed (their batches kept with their aggregates), then aggregate rows, the exchanges they
   * counted and histogram samples of the aggregate-only batches dropped past the bound.
   */
  spoolLost: Partial<Record<SpoolLostKind, number>>;
  /** Its resident memory, MiB (health detail memRssMb). */
  rssMb: number | null;
}

export const SHED_REASONS = ['sampled', 'capture', 'slow', 'error', 'full'] as const;
export type ShedReason = (typeof SHED_REASONS)[number];
const SHED_DETAIL: Record<ShedReason, string> = {
  sampled: 'l7ShedSampled',
  capture: 'l7ShedCapture',
  slow: 'l7ShedSlow',
  error: 'l7ShedError',
  full: 'l7ShedFull',
};
export const SPOOL_LOST_KINDS = ['records', 'aggregates', 'exchanges', 'histograms'] as const;
export type SpoolLostKind = (typeof SPOOL_LOST_KINDS)[number];
const SPOOL_LOST_DETAIL: Record<SpoolLostKind, string> = {
  records: 'spoolShedRecords',
  aggregates: 'spoolDroppedAggregates',
  exchanges: 'spoolDroppedExchanges',
  histograms: 'spoolDroppedHistograms',
};
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);

/** The numeric health details named in `names`, by key (those absent or not numbers left out). */
function detailCounts<K extends string>(
  details: Record<string, unknown> | undefined,
  names: Record<K, string>,
): Partial<Record<K, number>> {
  return Object.fromEntries(
    (Object.entries(names) as [K, string][]).flatMap(([k, detail]) => {
      const n = num(details?.[detail]);
      return n === null ? [] : [[k, n]];
    }),
  ) as Partial<Record<K, number>>;
}

export function collectorHealthValues(row: CollectorRow): CollectorHealthValues {
  const parsed = CollectorHealthReport.safeParse(row.lastHealth);
  const h = parsed.success ? parsed.data : null;
  const l7Bytes = h ? h.parsedBytes + h.unparsedBytes : 0;
  return {
    collector: row.name,
    lastSeenSeconds: row.lastSeenAt ? row.lastSeenAt.getTime() / 1000 : null,
    eventsPerSecond: h ? h.eventsPerSecond : null,
    lostEvents: h ? h.lostEvents : null,
    unparsedRatio: h ? (l7Bytes > 0 ? h.unparsedBytes / l7Bytes : 0) : null,
    spoolBytes: h ? h.spoolBytes : null,
    deadLetterBatches: h ? h.deadLetterBatches : null,
    shedRecords: detailCounts(h?.details, SHED_DETAIL),
    spoolLost: detailCounts(h?.details, SPOOL_LOST_DETAIL),
    rssMb: num(h?.details?.memRssMb),
  };
}
