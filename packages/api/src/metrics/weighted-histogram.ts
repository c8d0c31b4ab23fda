/**
 * A Prometheus histogram that takes many observations of a value at once and their exact sum: what a kernel
 * L7 aggregate is (a count per latency bucket and the latency total, docs/l7-line-rate.md). prom-client's
 * Histogram observes one value per call, so an aggregate of 50,000 exchanges was 50,000 calls and its _sum only
 * the sum of bucket values. Exposed in the same text as prom-client's histograms (`le` first, then the labels),
 * registered in a prom-client Registry like any of its metrics.
 */
import type { Metric, Registry } from 'prom-client';

interface Series {
  labels: Record<string, string>;
  /** Observations per upper bound (not cumulative); the last slot is +Inf only. */
  buckets: number[];
  sum: number;
  count: number;
}

/** [observed value, how many times] */
export type Observation = readonly [value: number, times: number];

export class WeightedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly upperBounds: readonly number[],
    registers: readonly Registry[],
  ) {
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  /** Adds observations of one label set; `sum` is their exact total (default: Σ value × times). */
  observe(labels: Record<string, string>, observations: readonly Observation[], sum?: number): void {
    for (const k of Object.keys(labels))
      if (!this.labelNames.includes(k)) throw new Error(`${this.name}: label "${k}" is not one of ${this.labelNames.join(', ')}`);
    const key = this.key(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels, buckets: new Array<number>(this.upperBounds.length + 1).fill(0), sum: 0, count: 0 }));
    let total = 0;
    for (const [value, times] of observations) {
      if (!Number.isFinite(value) || !(times >= 0)) throw new TypeError(`${this.name}: cannot observe ${value} × ${times}`);
      let b = 0;
      while (b < this.upperBounds.length && value > this.upperBounds[b]!) b++;
      s.buckets[b]! += times;
      s.count += times;
      total += value * times;
    }
    s.sum += sum ?? total;
  }

  remove(labels: Record<string, string>): void {
    this.series.delete(this.key(labels));
  }

  reset(): void {
    this.series.clear();
  }

  /** prom-client's metric object: cumulative `_bucket` per bound, +Inf, `_sum`, `_count` per label set. */
  async get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...s.labels }, value: acc });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  private key(labels: Record<string, string>): string {
    return this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
  }
}
