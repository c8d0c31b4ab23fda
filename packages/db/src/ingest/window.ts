/**
 * The ingest window: records are accepted only when their time lies in [now − raw retention, now + skew].
 * Older ones would be dropped by retention within a minute; newer ones are a broken clock or an attack —
 * one batch of 400 flows on 400 future days once created 2,000 partitions that retention never dropped and
 * that slowed every later search for good. Records outside the window are left out one by one (the rest of
 * their batch is stored) and counted by reason; a batch can then only touch retention + 2 days.
 */
import { FLOW_IX, type IngestBatch } from '@sextant/shared';

const DAY_MS = 86_400_000;
/** How far ahead of the server's clock a collector's clock may be. */
export const DEFAULT_FUTURE_SKEW_MS = 10 * 60_000;
/** Days a batch may touch when no window is given (direct storeBatch calls: tests, tools). */
export const DEFAULT_MAX_BATCH_DAYS = 16;

export interface IngestWindow {
  /** Earliest accepted time (epoch ms), inclusive. */
  minMs: number;
  /** Latest accepted time (epoch ms), inclusive. */
  maxMs: number;
}

export interface RejectedRecords {
  tooOld: number;
  tooNew: number;
}

/** SEXTANT_RETENTION_RAW_DAYS as the maintenance loop reads it (apps/web/src/server/env.ts): 1–3650, default 7. */
export function rawRetentionDays(env: Record<string, string | undefined> = process.env): number {
  const raw = env.SEXTANT_RETENTION_RAW_DAYS?.trim() || '7';
  const days = Number(raw);
  if (!/^\d+$/.test(raw) || days < 1 || days > 3650)
    throw new Error(`SEXTANT_RETENTION_RAW_DAYS must be a whole number of days between 1 and 3650, not ${raw}`);
  return days;
}

export function ingestWindow(rawDays: number, now = Date.now(), skewMs = DEFAULT_FUTURE_SKEW_MS): IngestWindow {
  return { minMs: now - rawDays * DAY_MS, maxMs: now + skewMs };
}

/** Whole UTC days a window can touch: the most partitions per table one batch inside it may need. */
export function windowDays(w: IngestWindow): number {
  return Math.floor(w.maxMs / DAY_MS) - Math.floor(w.minMs / DAY_MS) + 1;
}

/**
 * The batch with records outside the window left out, and how many were. Histograms and L7 aggregates are
 * windowed too (their minute rolls into a partitioned table); the health report is not (it is not partitioned).
 */
export function applyWindow(batch: IngestBatch, w: IngestWindow): { batch: IngestBatch; rejected: RejectedRecords } {
  const rejected: RejectedRecords = { tooOld: 0, tooNew: 0 };
  const inside = (t: number) => {
    if (t < w.minMs) rejected.tooOld++;
    else if (t > w.maxMs) rejected.tooNew++;
    else return true;
    return false;
  };
  const flows = batch.flows.filter((r) => inside(r[FLOW_IX.time]));
  const l7 = batch.l7.filter((e) => inside(e.time));
  const histograms = batch.histograms.filter((h) => inside(h.windowStart));
  const l7Aggregates = batch.l7Aggregates.filter((a) => inside(a.time));
  if (rejected.tooOld + rejected.tooNew === 0) return { batch, rejected };
  return { batch: { ...batch, flows, l7, histograms, l7Aggregates }, rejected };
}
