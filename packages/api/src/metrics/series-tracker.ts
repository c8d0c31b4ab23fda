/**
 * Bookkeeping that bounds the metrics' cardinality: per metric, the label sets in use and when each was
 * last updated. A new label set beyond the cap is refused (the caller counts it as overflow); label sets
 * idle longer than the TTL are handed back by `expire` so the caller removes their series.
 */
export interface TrackedSeries {
  labels: Record<string, string>;
  lastSeen: number;
}

export function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

export class SeriesTracker {
  private readonly series = new Map<string, Map<string, TrackedSeries>>();

  constructor(
    private readonly maxPerMetric: number,
    private readonly ttlMs: number,
  ) {}

  /**
   * Marks a label set as used at `now`; false when it is new and the metric is at its cap. `key` may be
   * given when the caller already has one that identifies the label set within the metric.
   */
  touch(metric: string, labels: Record<string, string>, now: number, key = labelKey(labels)): boolean {
    let m = this.series.get(metric);
    if (!m) this.series.set(metric, (m = new Map()));
    const s = m.get(key);
    if (s) {
      s.lastSeen = Math.max(s.lastSeen, now);
      return true;
    }
    if (m.size >= this.maxPerMetric) return false;
    m.set(key, { labels, lastSeen: now });
    return true;
  }

  /** Removes and returns the label sets not touched within the TTL before `now`. */
  expire(now: number): { metric: string; labels: Record<string, string> }[] {
    const gone: { metric: string; labels: Record<string, string> }[] = [];
    for (const [metric, m] of this.series) {
      for (const [key, s] of m) {
        if (now - s.lastSeen > this.ttlMs) {
          m.delete(key);
          gone.push({ metric, labels: s.labels });
        }
      }
    }
    return gone;
  }

  count(metric: string): number {
    return this.series.get(metric)?.size ?? 0;
  }

  metrics(): string[] {
    return [...this.series.keys()];
  }
}
