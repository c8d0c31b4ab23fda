/**
 * Turns an ingest batch into samples of Hubble's metrics (cilium pkg/hubble/metrics names and labels), as
 * plain data: which metric, which label values, how much to add or which value to observe. Pure, so the
 * mapping is tested without a registry.
 *
 * Mapping decisions (Sextant records connections and paired L7 exchanges, Hubble counts packet events):
 * - every flow record is one processed L3_L4 flow; every L7 exchange is one processed L7 flow: counted by its
 *   kernel aggregate (docs/l7-line-rate.md) or, on the full path, by its record. A record that carries `sampling`
 *   is a sample of exchanges an aggregate counts, so it adds nothing: totals are exact whatever is sampled;
 * - an aggregate's durations are observed at the upper bound of each of its latency buckets (the way every
 *   Sextant percentile is reported), its _sum is its exact latency total; its HTTP version is not known (1.1);
 * - a DROPPED record counts its dropped packets (at least 1) in hubble_drop_total;
 * - TCP flags count once per flow record that carries them;
 * - a DNS exchange is one query, and one response when an rcode was seen;
 * - `reporter` is "client" when the collector saw the source process, "server" when only the
 *   destination's, else "unknown" (an aggregate says which socket counted it).
 */
import type { Endpoint, Flow, L7Aggregate, L7Event } from '@sextant/shared';
import { bucketReportValue, dnsRcodeName, endpointServiceName } from '@sextant/shared';
import type { ContextOption } from './config';

export type HubbleMetricName =
  | 'hubble_flows_processed_total'
  | 'hubble_drop_total'
  | 'hubble_tcp_flags_total'
  | 'hubble_dns_queries_total'
  | 'hubble_dns_responses_total'
  | 'hubble_dns_response_types_total'
  | 'hubble_http_requests_total'
  | 'hubble_http_responses_total'
  | 'hubble_http_request_duration_seconds'
  | 'hubble_kafka_requests_total'
  | 'hubble_kafka_request_duration_seconds';

/** Each metric's own labels (context labels are added after them). */
export const HUBBLE_METRICS: Record<HubbleMetricName, { help: string; labels: readonly string[]; histogram?: true }> = {
  hubble_flows_processed_total: { help: 'Total number of flows processed', labels: ['type', 'subtype', 'verdict', 'protocol'] },
  hubble_drop_total: { help: 'Number of drops', labels: ['reason', 'protocol'] },
  hubble_tcp_flags_total: { help: 'TCP flag occurrences', labels: ['flag', 'family'] },
  hubble_dns_queries_total: { help: 'Number of DNS queries observed', labels: ['rcode', 'qtypes', 'ips_returned'] },
  hubble_dns_responses_total: { help: 'Number of DNS responses observed', labels: ['rcode', 'qtypes', 'ips_returned'] },
  hubble_dns_response_types_total: { help: 'Number of DNS response types', labels: ['type', 'qtypes'] },
  hubble_http_requests_total: { help: 'Count of HTTP requests', labels: ['method', 'protocol', 'reporter'] },
  hubble_http_responses_total: { help: 'Count of HTTP responses', labels: ['method', 'status', 'reporter'] },
  hubble_http_request_duration_seconds: {
    help: 'Quantiles of HTTP request duration in seconds',
    labels: ['method', 'reporter'],
    histogram: true,
  },
  hubble_kafka_requests_total: { help: 'Count of Kafka requests', labels: ['topic', 'api_key', 'error_code', 'reporter'] },
  hubble_kafka_request_duration_seconds: {
    help: 'Quantiles of Kafka request duration in seconds',
    labels: ['topic', 'api_key', 'reporter'],
    histogram: true,
  },
};

export interface HubbleSample {
  metric: HubbleMetricName;
  labels: Record<string, string>;
  /** Counter increment, or the observed value for a histogram (with `observations`: their exact sum). */
  value: number;
  /** Histograms fed by a kernel aggregate: [value, times] per latency bucket. */
  observations?: readonly (readonly [number, number])[];
}

/** DNS rcode names as Hubble prints them (the registry's table). */
export const rcodeName = (rcode: number): string => dnsRcodeName(rcode, 'hubble');

function endpointValue(e: Endpoint, option: ContextOption): string {
  switch (option) {
    case 'namespace':
      return e.namespace ?? '';
    case 'workload':
      return e.workloads?.[0]?.name ?? endpointServiceName(e);
    case 'pod':
      return e.podName ?? '';
    case 'ip':
      return e.ip;
  }
}

export function contextLabels(source: Endpoint, destination: Endpoint, context: readonly ContextOption[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of context) out[`source_${c}`] = endpointValue(source, c);
  for (const c of context) out[`destination_${c}`] = endpointValue(destination, c);
  return out;
}

function reporter(e: L7Event): string {
  if (e.source.process) return 'client';
  if (e.destination.process) return 'server';
  return 'unknown';
}

function l7Samples(e: L7Event, ctx: Record<string, string>, out: HubbleSample[]): void {
  const push = (metric: HubbleMetricName, labels: Record<string, string>, value = 1) =>
    out.push({ metric, labels: { ...labels, ...ctx }, value });
  const seconds = e.latencyNs === undefined ? undefined : e.latencyNs / 1e9;
  if (e.protocol === 'http' && e.http) {
    const h = e.http;
    push('hubble_http_requests_total', { method: h.method, protocol: h.protocol, reporter: reporter(e) });
    if (h.code !== undefined) push('hubble_http_responses_total', { method: h.method, status: String(h.code), reporter: reporter(e) });
    if (seconds !== undefined) push('hubble_http_request_duration_seconds', { method: h.method, reporter: reporter(e) }, seconds);
  } else if (e.protocol === 'dns' && e.dns) {
    const d = e.dns;
    const qtypes = d.qtypes.join(',');
    push('hubble_dns_queries_total', { rcode: '', qtypes, ips_returned: '0' });
    if (d.rcode !== undefined) {
      push('hubble_dns_responses_total', { rcode: rcodeName(d.rcode), qtypes, ips_returned: String(d.ips.length) });
      for (const type of d.rrtypes) push('hubble_dns_response_types_total', { type, qtypes });
    }
  } else if (e.protocol === 'kafka' && e.kafka) {
    const k = e.kafka;
    const topic = k.topic ?? '';
    push('hubble_kafka_requests_total', { topic, api_key: k.apiKey, error_code: String(k.errorCode ?? 0), reporter: reporter(e) });
    if (seconds !== undefined) push('hubble_kafka_request_duration_seconds', { topic, api_key: k.apiKey, reporter: reporter(e) }, seconds);
  }
}

const L7_PROTOCOL_LABEL = { http: 'HTTP', dns: 'DNS', kafka: 'Kafka' } as const;

/** A stored batch's records and kernel aggregates, as objects. */
export interface BatchRecords {
  flows: readonly Flow[];
  l7: readonly L7Event[];
  l7Aggregates?: readonly L7Aggregate[];
}

function aggregateSamples(a: L7Aggregate, context: readonly ContextOption[], out: HubbleSample[]): void {
  if (a.count === 0) return;
  const ctx = contextLabels(a.source, a.destination, context);
  const labels = (own: Record<string, string>) => ({ ...own, ...ctx });
  out.push({
    metric: 'hubble_flows_processed_total',
    labels: labels({ type: 'L7', subtype: 'RESPONSE', verdict: 'FORWARDED', protocol: L7_PROTOCOL_LABEL[a.protocol] }),
    value: a.count,
  });
  const { method, reporter } = a;
  out.push({ metric: 'hubble_http_requests_total', labels: labels({ method, protocol: 'HTTP/1.1', reporter }), value: a.count });
  out.push({ metric: 'hubble_http_responses_total', labels: labels({ method, status: String(a.code), reporter }), value: a.count });
  const observations = a.idx.map((i, k) => [bucketReportValue(i) / 1e9, a.cnt[k]!] as const).filter(([, n]) => n > 0);
  if (observations.length)
    out.push({
      metric: 'hubble_http_request_duration_seconds',
      labels: labels({ method, reporter }),
      value: a.latencySumNs / 1e9,
      observations,
    });
}

/** All Hubble samples of one stored batch. */

export function hubbleSamples(batch: BatchRecords, context: readonly ContextOption[]): HubbleSample[] {
  const out: HubbleSample[] = [];
  for (const f of batch.flows) {
    const ctx = contextLabels(f.source, f.destination, context);
    out.push({
      metric: 'hubble_flows_processed_total',
      labels: { type: 'L3_L4', subtype: '', verdict: f.verdict, protocol: f.l4Protocol, ...ctx },
      value: 1,
    });
    if (f.verdict === 'DROPPED') {
      out.push({
        metric: 'hubble_drop_total',
        labels: { reason: f.dropReason ?? 'UNKNOWN', protocol: f.l4Protocol, ...ctx },
        value: Math.max(1, f.packetsSent),
      });
    }
    if (f.l4Protocol === 'TCP') {
      const family = f.ipVersion === 6 ? 'IPv6' : 'IPv4';
      for (const flag of f.tcpFlags) out.push({ metric: 'hubble_tcp_flags_total', labels: { flag, family, ...ctx }, value: 1 });
    }
  }
  for (const e of batch.l7) {
    if (e.sampling !== undefined) continue;
    const ctx = contextLabels(e.source, e.destination, context);
    out.push({
      metric: 'hubble_flows_processed_total',
      labels: { type: 'L7', subtype: e.type, verdict: 'FORWARDED', protocol: L7_PROTOCOL_LABEL[e.protocol], ...ctx },
      value: 1,
    });
    l7Samples(e, ctx, out);
  }
  for (const a of batch.l7Aggregates ?? []) aggregateSamples(a, context, out);
  return out;
}
