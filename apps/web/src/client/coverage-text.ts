/**
 * The words of coverage transparency (docs/l7-line-rate.md): how records relate to the exchanges they sample.
 * Counts and rates come from every exchange (kernel aggregates in the rollups); records are kept for errors,
 * slow exchanges, live captures and successes within a per-host budget. Pure, so the wording is tested.
 */
import type { L7Coverage } from '@sextant/db';
import type { L7Sampling } from '@sextant/shared';

const count = (n: number) => n.toLocaleString('en-US');

/** "≈5.9 %", "< 0.1 %", "100 %". */
export function sharePercent(part: number, whole: number): string {
  if (whole <= 0 || part >= whole) return '100 %';
  const pct = (part / whole) * 100;
  if (pct < 0.1) return '< 0.1 %';
  return `≈${pct.toFixed(1)} %`;
}

/** Whether records in the window are a sample: some were kept by the sampler rather than all recorded. */
export function isSampled(c: Pick<L7Coverage, 'kept'>): boolean {
  return c.kept.sampled > 0;
}

/** The flows page's one-line notice, or null when every exchange in the window has its record. */
export function coverageNotice(c: Pick<L7Coverage, 'exchanges' | 'records' | 'kept'>): string | null {
  if (!isSampled(c)) return null;
  return (
    `HTTP: ${count(c.exchanges)} exchanges, ${count(c.records)} kept as records (${sharePercent(c.records, c.exchanges)}) — ` +
    'every error and slow exchange, successes sampled. Counts and rates come from all exchanges. ' +
    'Live tail records everything while open.'
  );
}

/** The map's service panel: one line on how many of the service's HTTP exchanges have records. */
export function coverageLine(c: Pick<L7Coverage, 'exchanges' | 'records' | 'kept'>): string | null {
  if (c.exchanges === 0 && c.records === 0) return null;
  if (!isSampled(c)) return `HTTP records: every exchange (${count(c.records)})`;
  const reasons = [
    c.kept.error && `${count(c.kept.error)} errors`,
    c.kept.slow && `${count(c.kept.slow)} slow`,
    c.kept.capture && `${count(c.kept.capture)} live capture`,
    `${count(c.kept.sampled)} sampled`,
  ].filter(Boolean);
  return `HTTP records: ${count(c.records)} of ${count(c.exchanges)} exchanges (${sharePercent(c.records, c.exchanges)}): ${reasons.join(', ')}`;
}

const KEPT: Record<L7Sampling, string> = {
  error: 'error — every error response is kept',
  slow: 'slow — every exchange at or above the slow threshold is kept',
  capture: 'live capture — everything is recorded while a live tail is open',
  sampled: 'sampled — successes are kept within a per-host record budget',
};

/** The drawer's "kept because" line; null for the full path (every exchange of that connection is a record). */
export function keptBecause(sampling: L7Sampling | undefined): string | null {
  return sampling ? KEPT[sampling] : null;
}
