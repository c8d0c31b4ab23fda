/**
 * PromQL for the Prometheus flavour, over the Hubble metrics of /api/metrics with the default workload
 * context labels (SEXTANT_METRICS_CONTEXT=namespace,workload), so the same queries also read Cilium's own
 * Hubble metrics. Variables: $namespace, $service, $collector (multi-value, matched with =~).
 */
import type { Scope } from './sql-queries';

function selector(scope: Scope, extra = ''): string {
  const base =
    scope === 'service' ? 'destination_workload=~"$service",destination_namespace=~"$namespace"' : 'destination_namespace=~"$namespace"';
  return `{${base}${extra ? `,${extra}` : ''}}`;
}

const RATE = '[$__rate_interval]';

/** Selectors for the map: flows into, and out of, the selection. */
function touching(scope: Scope): string[] {
  return scope === 'service'
    ? [
        '{destination_workload=~"$service",destination_namespace=~"$namespace"}',
        '{source_workload=~"$service",source_namespace=~"$namespace"}',
      ]
    : ['{destination_namespace=~"$namespace"}', '{source_namespace=~"$namespace"}'];
}

function quantile(q: number, s: Scope): string {
  return `histogram_quantile(${q}, sum by (le) (rate(hubble_http_request_duration_seconds_bucket${selector(s)}${RATE})))`;
}

/** One workload side joined into a node id "namespace/workload". */
function joined(expr: string, label: string, side: 'source' | 'destination'): string {
  return `label_join(${expr}, "${label}", "/", "${side}_namespace", "${side}_workload")`;
}

export const PROMQL = {
  /** L7 flows only (type="L7": one per exchange); L3/L4 flow records are the connections panel. */
  requests: (s: Scope) => [
    { expr: `sum by (protocol) (rate(hubble_flows_processed_total${selector(s, 'type="L7"')}${RATE}))`, legend: '{{protocol}}' },
  ],
  connections: (s: Scope) => [
    {
      expr: `sum by (protocol, verdict) (rate(hubble_flows_processed_total${selector(s, 'type="L3_L4"')}${RATE}))`,
      legend: '{{protocol}} {{verdict}} connection records',
    },
  ],
  errors: (s: Scope) => [
    {
      expr: `sum(rate(hubble_http_responses_total${selector(s, 'status=~"5.."')}${RATE})) / sum(rate(hubble_http_responses_total${selector(s)}${RATE}))`,
      legend: 'HTTP 5xx ratio',
    },
  ],
  latency: (s: Scope) => [0.5, 0.95, 0.99].map((q) => ({ expr: quantile(q, s), legend: `p${Math.round(q * 100)}` })),
  drops: (s: Scope) => [{ expr: `sum by (reason) (rate(hubble_drop_total${selector(s)}${RATE}))`, legend: '{{reason}}' }],
  collectorEvents: () => [{ expr: 'sextant_collector_events_per_second{collector=~"$collector"}', legend: '{{collector}}' }],
  collectorLost: () => [{ expr: 'hubble_lost_events_total{collector=~"$collector"}', legend: '{{collector}} lost' }],
  /** Node Graph nodes frame: id "namespace/workload", value = flows into it over the range (0 for pure sources). */
  mapNodes: (s: Scope) => {
    const incs = touching(s).map((sel) => `increase(hubble_flows_processed_total${sel}[$__range])`);
    const into = incs.map((inc) => `sum by (id) (${joined(inc, 'id', 'destination')})`);
    const from = incs.map((inc) => `sum by (id) (0 * ${joined(inc, 'id', 'source')})`);
    return [{ expr: [...into, ...from].join(' or '), legend: '' }];
  },
  /** Node Graph edges frame: id "src->dst", source, target, value = flows over the range. */
  mapEdges: (s: Scope) => {
    const edges = touching(s).map((sel) => {
      const inc = `increase(hubble_flows_processed_total${sel}[$__range])`;
      return `sum by (id, source, target) (label_join(${joined(joined(inc, 'source', 'source'), 'target', 'destination')}, "id", "->", "source", "target"))`;
    });
    return [{ expr: edges.join(' or '), legend: '' }];
  },
} as const;

export const PROMQL_VARIABLES = {
  namespace: 'label_values(hubble_flows_processed_total, destination_namespace)',
  service: 'label_values(hubble_flows_processed_total{destination_namespace=~"$namespace"}, destination_workload)',
  collector: 'label_values(sextant_collector_last_seen_timestamp_seconds, collector)',
} as const;
