/**
 * The time bins of a chart series, every one of them, so a reader can tell "nothing was stored for this
 * bin" (null: no traffic, or nobody reporting — an outage must not read as 0 % errors and 0 ns) from a
 * measured zero, and which bins are only partly covered (the current one, or one the window cuts), whose
 * sums would otherwise be drawn as a dip.
 */
export interface Bin {
  /** Start of the bin, epoch ms. */
  time: number;
  /** The part of the bin the data covers, in seconds (less than the step when partial). */
  seconds: number;
  partial: boolean;
}

/**
 * Bins of `stepSeconds` from `origin` (epoch ms) while they start before `end`; `coveredFrom` /
 * `coveredUntil` bound what the data can contain (the window read, and now).
 */
export function timeBins(origin: number, end: number, stepSeconds: number, coveredFrom: number, coveredUntil: number): Bin[] {
  const step = stepSeconds * 1000;
  const bins: Bin[] = [];
  for (let t = origin; t < end && bins.length < 100_000; t += step) {
    const lo = Math.max(t, coveredFrom);
    const hi = Math.min(t + step, coveredUntil);
    bins.push({ time: t, seconds: Math.max(0, hi - lo) / 1000, partial: lo > t || hi < t + step });
  }
  return bins;
}
