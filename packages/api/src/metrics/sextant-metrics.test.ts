import { describe, expect, it } from 'vitest';
import { parseMetricsConfig } from './config';
import { COREDNS, flow, knownTraffic } from '../testing/traffic-fixtures';
import { SextantMetrics } from './sextant-metrics';

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const ctx = 'source_namespace="shop",source_workload="frontend",destination_namespace="shop",destination_workload="payments"';

describe('SextantMetrics', () => {
  it('renders Hubble counters, histograms and ingest totals in Prometheus text format', async () => {
    const m = new SextantMetrics(parseMetricsConfig({}));
    m.recordBatch('host-1', knownTraffic());
    const text = await m.render();
    expect(text).toContain('# TYPE hubble_http_request_duration_seconds histogram');
    expect(value(text, `hubble_http_requests_total{method="GET",protocol="HTTP/1.1",reporter="client",${ctx}}`)).toBe(5);
    expect(value(text, `hubble_http_request_duration_seconds_bucket{le="0.025",method="GET",reporter="client",${ctx}}`)).toBe(3);
    expect(value(text, `hubble_http_request_duration_seconds_count{method="GET",reporter="client",${ctx}}`)).toBe(5);
    expect(value(text, `hubble_drop_total{reason="POLICY_DENIED",protocol="TCP",${ctx}}`)).toBe(3);
    expect(value(text, 'sextant_ingest_batches_total{collector="host-1"}')).toBe(1);
    expect(value(text, 'sextant_ingest_rows_total{collector="host-1",kind="l7"}')).toBe(8);
  });

  it('caps label sets per metric and counts the overflow', async () => {
    const m = new SextantMetrics(parseMetricsConfig({ SEXTANT_METRICS_MAX_SERIES: '2' }));
    const flows = ['a', 'b', 'c', 'd'].map((s) => flow({ l4Protocol: 'UDP', tcpFlags: [], destination: { ...COREDNS, service: s } }));
    m.recordBatch('host-1', { flows, l7: [], histograms: [] });
    m.recordBatch('host-1', { flows: [flows[0]!], l7: [], histograms: [] });
    const text = await m.render();
    expect(value(text, 'sextant_metrics_series_overflow_total{metric="hubble_flows_processed_total"}')).toBe(2);
    expect(value(text, 'sextant_metrics_series{metric="hubble_flows_processed_total"}')).toBe(2);
    expect(text).toMatch(/destination_workload="a"\} 2\n/);
    expect(text).not.toContain('destination_workload="c"');
  });

  it('expires series of workloads not seen within the TTL', async () => {
    const m = new SextantMetrics(parseMetricsConfig({ SEXTANT_METRICS_SERIES_TTL_SECONDS: '60' }));
    const t0 = 1_000_000;
    m.recordBatch('host-1', { flows: [flow({ destination: { ...COREDNS, service: 'old' } })], l7: [], histograms: [] }, t0);
    m.recordBatch('host-1', { flows: [flow({ destination: { ...COREDNS, service: 'new' } })], l7: [], histograms: [] }, t0 + 50_000);
    expect(await m.render(t0 + 59_000)).toContain('destination_workload="old"');
    const later = await m.render(t0 + 61_000);
    expect(later).not.toContain('destination_workload="old"');
    expect(later).toContain('destination_workload="new"');
    expect(value(later, 'sextant_metrics_series_expired_total{metric="hubble_flows_processed_total"}')).toBe(1);
  });

  it('exports collector health from the last reports, replacing vanished collectors', async () => {
    const m = new SextantMetrics(parseMetricsConfig({}));
    const report = {
      time: 1,
      version: '0.1.0',
      kernel: '6.18',
      hostname: 'h',
      eventsPerSecond: 250,
      lostEvents: 7,
      parsedBytes: 300,
      unparsedBytes: 100,
      spoolBytes: 4096,
      details: {
        l7ShedSampled: 120,
        l7ShedError: 0,
        memRssMb: 131.5,
        l7ShedFull: 'not a number',
        spoolShedRecords: 5000,
        spoolDroppedAggregates: 3,
        spoolDroppedExchanges: 410,
      },
    };
    m.setCollectors([
      { name: 'host-1', lastSeenAt: new Date(1_700_000_000_000), lastHealth: report },
      { name: 'host-2', lastSeenAt: null, lastHealth: null },
    ]);
    let text = await m.render();
    expect(value(text, 'sextant_collector_last_seen_timestamp_seconds{collector="host-1"}')).toBe(1_700_000_000);
    expect(value(text, 'sextant_collector_events_per_second{collector="host-1"}')).toBe(250);
    expect(value(text, 'sextant_collector_unparsed_ratio{collector="host-1"}')).toBe(0.25);
    expect(value(text, 'sextant_collector_spool_bytes{collector="host-1"}')).toBe(4096);
    expect(value(text, 'hubble_lost_events_total{source="perf_event_ring_buffer",collector="host-1"}')).toBe(7);
    expect(value(text, 'sextant_collector_shed_records_total{collector="host-1",reason="sampled"}')).toBe(120);
    expect(value(text, 'sextant_collector_shed_records_total{collector="host-1",reason="error"}')).toBe(0);
    expect(text).not.toContain('reason="full"');
    expect(value(text, 'sextant_collector_spool_lost_total{collector="host-1",kind="records"}')).toBe(5000);
    expect(value(text, 'sextant_collector_spool_lost_total{collector="host-1",kind="aggregates"}')).toBe(3);
    expect(value(text, 'sextant_collector_spool_lost_total{collector="host-1",kind="exchanges"}')).toBe(410);
    expect(text).not.toContain('kind="histograms"');
    expect(value(text, 'sextant_collector_resident_memory_mb{collector="host-1"}')).toBe(131.5);
    expect(text).not.toContain('collector="host-2"');
    m.setCollectors([]);
    text = await m.render();
    expect(text).not.toContain('collector="host-1"');
  });
});
