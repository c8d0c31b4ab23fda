/**
 * The metrics registry of one server process: Hubble's metrics fed from stored batches (bounded by a
 * series cap and expired by TTL), collector health refreshed from the database at scrape time, and
 * Sextant's own ingest and bookkeeping counters. Rendered in Prometheus text format by prom-client.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { type CollectorRow, collectorHealthValues } from './collector-health';
import { contextLabelNames, type MetricsConfig } from './config';
import { COVERAGE_HELP, COVERAGE_METRIC, coverageSamples } from './coverage-samples';
import { type BatchRecords, HUBBLE_METRICS, type HubbleMetricName, hubbleSamples } from './hubble-samples';
import { SeriesTracker } from './series-tracker';
import { WeightedHistogram } from './weighted-histogram';

/** prometheus/client_golang's default buckets, which Hubble's duration histograms use. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type HubbleMetric = Counter<string> | WeightedHistogram;

export class SextantMetrics {
  readonly registry = new Registry();
  private readonly hubble = new Map<HubbleMetricName, HubbleMetric>();
  private readonly tracker: SeriesTracker;
  private readonly overflow: Counter<'metric'>;
  private readonly expired: Counter<'metric'>;
  private readonly seriesGauge: Gauge<'metric'>;
  private readonly batches: Counter<'collector'>;
  private readonly rows: Counter<'collector' | 'kind'>;
  private readonly lostEvents: Counter<'source' | 'collector'>;
  private readonly shedRecords: Counter<'collector' | 'reason'>;
  private readonly spoolLost: Counter<'collector' | 'kind'>;
  private readonly rejectedRecords: Counter<'reason'>;
  private readonly sanitizedRecords: Counter;
  private readonly refusedBatches: Counter<'reason'>;
  private readonly coverage: Counter<'service' | 'namespace' | 'class'>;
  private readonly health: Record<
    'lastSeen' | 'eventsPerSecond' | 'unparsedRatio' | 'spoolBytes' | 'deadLetter' | 'rss',
    Gauge<'collector'>
  >;

  constructor(
    readonly config: MetricsConfig,
    opts: { processMetrics?: boolean } = {},
  ) {
    this.tracker = new SeriesTracker(config.maxSeriesPerMetric, config.seriesTtlMs);
    const registers = [this.registry];
    const ctx = contextLabelNames(config.context);
    for (const [name, def] of Object.entries(HUBBLE_METRICS) as [HubbleMetricName, (typeof HUBBLE_METRICS)[HubbleMetricName]][]) {
      const labelNames = [...def.labels, ...ctx];
      this.hubble.set(
        name,
        def.histogram
          ? new WeightedHistogram(name, def.help, labelNames, DURATION_BUCKETS, registers)
          : new Counter({ name, help: def.help, labelNames, registers }),
      );
    }
    this.lostEvents = new Counter({
      name: 'hubble_lost_events_total',
      help: 'Number of lost events (kernel events a collector could not deliver, as last reported by it)',
      labelNames: ['source', 'collector'],
      registers,
    });
    this.shedRecords = new Counter({
      name: 'sextant_collector_shed_records_total',
      help: 'L7 records a collector dropped before any work because it fell behind its ring, by what they were kept for (sampled, capture, slow, error, full), as last reported',
      labelNames: ['collector', 'reason'],
      registers,
    });
    this.spoolLost = new Counter({
      name: 'sextant_collector_spool_lost_total',
      help: 'What a collector spool full after a long outage lost, by kind: records (TCP connection flows, L7 records) shed from batches kept with their aggregates; aggregates (L7 aggregate rows, UDP conversation and drop flows), exchanges, histograms of aggregate-only batches dropped past the bound; as last reported',
      labelNames: ['collector', 'kind'],
      registers,
    });
    this.overflow = new Counter({
      name: 'sextant_metrics_series_overflow_total',
      help: 'Samples dropped because their metric reached SEXTANT_METRICS_MAX_SERIES label sets',
      labelNames: ['metric'],
      registers,
    });
    this.expired = new Counter({
      name: 'sextant_metrics_series_expired_total',
      help: 'Series removed after SEXTANT_METRICS_SERIES_TTL_SECONDS without updates',
      labelNames: ['metric'],
      registers,
    });
    this.seriesGauge = new Gauge({
      name: 'sextant_metrics_series',
      help: 'Label sets currently exported per Hubble metric',
      labelNames: ['metric'],
      registers,
    });
    this.batches = new Counter({
      name: 'sextant_ingest_batches_total',
      help: 'Ingest batches stored (idempotent replays not counted)',
      labelNames: ['collector'],
      registers,
    });
    this.rows = new Counter({
      name: 'sextant_ingest_rows_total',
      help: 'Rows stored by ingest, by kind (flows, l7, histograms, l7_aggregates: kernel L7 aggregates folded into rollups)',
      labelNames: ['collector', 'kind'],
      registers,
    });
    this.rejectedRecords = new Counter({
      name: 'sextant_ingest_records_rejected_total',
      help: 'Records left out of stored batches because their time is outside the ingest window (too_old: before now - SEXTANT_RETENTION_RAW_DAYS, too_new: after now + 10 min)',
      labelNames: ['reason'],
      registers,
    });
    this.sanitizedRecords = new Counter({
      name: 'sextant_ingest_records_sanitized_total',
      help: 'Records stored with NUL or lone surrogates replaced by U+FFFD (labelled sextant:sanitized)',
      registers,
    });
    this.refusedBatches = new Counter({
      name: 'sextant_ingest_batches_refused_total',
      help: 'Ingest calls answered 4xx: the input can never be stored as it is (invalid, too_large)',
      labelNames: ['reason'],
      registers,
    });
    this.coverage = new Counter({ name: COVERAGE_METRIC, help: COVERAGE_HELP, labelNames: ['service', 'namespace', 'class'], registers });
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['collector'], registers });
    this.health = {
      lastSeen: gauge('sextant_collector_last_seen_timestamp_seconds', 'When the collector last reported (Unix seconds)'),
      eventsPerSecond: gauge('sextant_collector_events_per_second', 'Kernel events per second, as last reported by the collector'),
      unparsedRatio: gauge('sextant_collector_unparsed_ratio', 'Share of L7 payload bytes no protocol parser understood (0..1)'),
      spoolBytes: gauge('sextant_collector_spool_bytes', 'Bytes waiting in the collector spool (server unreachable or slow)'),
      deadLetter: gauge(
        'sextant_collector_dead_letter_batches',
        'Batches the server refused (4xx) that the collector set aside in its dead-letter file, as last reported',
      ),
      rss: gauge('sextant_collector_resident_memory_mb', 'Resident memory of the collector process (MiB), as last reported'),
    };
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'sextant_' });
  }

  /** Feeds a stored batch into the metrics. Call once per stored batch id, never for a replay. */
  recordBatch(collector: string, batch: BatchRecords & { histograms: readonly unknown[] }, now = Date.now()): void {
    this.batches.inc({ collector });
    this.rows.inc({ collector, kind: 'flows' }, batch.flows.length);
    this.rows.inc({ collector, kind: 'l7' }, batch.l7.length);
    this.rows.inc({ collector, kind: 'histograms' }, batch.histograms.length);
    if (batch.l7Aggregates?.length) this.rows.inc({ collector, kind: 'l7_aggregates' }, batch.l7Aggregates.length);
    // One registry update per series per batch, not per record: samples are grouped first. hubbleSamples
    // builds each metric's labels in one fixed order, so the values alone identify a series of a metric.
    const groups = new Map<
      string,
      { metric: HubbleMetricName; labels: Record<string, string>; samples: number; sum: number; values: (readonly [number, number])[] }
    >();
    // L7 decode coverage per workload: bounded and expired like Hubble's series.
    for (const c of coverageSamples(batch.flows)) {
      if (this.tracker.touch(COVERAGE_METRIC, c.labels, now)) this.coverage.inc(c.labels, c.connections);
      else this.overflow.inc({ metric: COVERAGE_METRIC }, c.connections);
    }
    for (const s of hubbleSamples(batch, this.config.context)) {
      const key = `${s.metric}\u0000${Object.values(s.labels).join('\u0000')}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { metric: s.metric, labels: s.labels, samples: 0, sum: 0, values: [] }));
      g.samples++;
      g.sum += s.value;
      if (HUBBLE_METRICS[s.metric].histogram) {
        if (s.observations) g.values.push(...s.observations);
        else g.values.push([s.value, 1]);
      }
    }
    for (const [key, g] of groups) {
      if (!this.tracker.touch(g.metric, g.labels, now, key)) {
        this.overflow.inc({ metric: g.metric }, g.samples);
        continue;
      }
      const m = this.hubble.get(g.metric);
      if (m instanceof WeightedHistogram) m.observe(g.labels, g.values, g.sum);
      else m?.inc(g.labels, g.sum);
    }
  }

  /** Records of a stored batch left out by the ingest window, and records stored sanitized. */
  recordIngestedRecords(rejected: { tooOld: number; tooNew: number }, sanitized: number): void {
    if (rejected.tooOld) this.rejectedRecords.inc({ reason: 'too_old' }, rejected.tooOld);
    if (rejected.tooNew) this.rejectedRecords.inc({ reason: 'too_new' }, rejected.tooNew);
    if (sanitized) this.sanitizedRecords.inc(sanitized);
  }

  /** An ingest call answered 4xx. */
  recordRefusedBatch(reason: 'invalid' | 'too_large'): void {
    this.refusedBatches.inc({ reason });
  }

  /** Replaces the collector health series with the collectors' last reports. */
  setCollectors(rows: readonly CollectorRow[]): void {
    for (const g of Object.values(this.health)) g.reset();
    this.lostEvents.reset();
    this.shedRecords.reset();
    this.spoolLost.reset();
    for (const row of rows) {
      const v = collectorHealthValues(row);
      const labels = { collector: v.collector };
      if (v.lastSeenSeconds !== null) this.health.lastSeen.set(labels, v.lastSeenSeconds);
      if (v.eventsPerSecond !== null) this.health.eventsPerSecond.set(labels, v.eventsPerSecond);
      if (v.unparsedRatio !== null) this.health.unparsedRatio.set(labels, v.unparsedRatio);
      if (v.spoolBytes !== null) this.health.spoolBytes.set(labels, v.spoolBytes);
      if (v.deadLetterBatches !== null) this.health.deadLetter.set(labels, v.deadLetterBatches);
      if (v.rssMb !== null) this.health.rss.set(labels, v.rssMb);
      for (const [reason, n] of Object.entries(v.shedRecords)) this.shedRecords.inc({ collector: v.collector, reason }, n);
      for (const [kind, n] of Object.entries(v.spoolLost)) this.spoolLost.inc({ collector: v.collector, kind }, n);
      if (v.lostEvents !== null)
        // Kernel ring buffer losses: Hubble's source value for the same kind of loss.
        this.lostEvents.inc({ source: 'perf_event_ring_buffer', collector: v.collector }, v.lostEvents);
    }
  }

  /** Removes series of label sets idle beyond the TTL (vanished workloads). */
  expire(now = Date.now()): number {
    const gone = this.tracker.expire(now);
    for (const g of gone) {
      if (g.metric === COVERAGE_METRIC) this.coverage.remove(g.labels);
      else this.hubble.get(g.metric as HubbleMetricName)?.remove(g.labels);
      this.expired.inc({ metric: g.metric });
    }
    return gone.length;
  }

  /** The exposition text, after expiring idle series. */
  async render(now = Date.now()): Promise<string> {
    this.expire(now);
    this.seriesGauge.reset();
    for (const name of this.hubble.keys()) this.seriesGauge.set({ metric: name }, this.tracker.count(name));
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
