/**
 * Every PromQL query of every Prometheus-flavoured export, interpolated as Grafana does, runs against the
 * real Prometheus scraping the real API while known traffic is ingested, and returns series with the
 * expected labels and values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '@sextant/shared';
import { knownHealth, knownTraffic } from '../testing/traffic-fixtures';
import { type PrometheusHarness, type PromSample, startPrometheus } from '../testing/prometheus-harness';
import { startHarness, type Harness } from '../testing/api-harness';
import { allExports } from './all-exports';
import { type GrafanaQueryContext, interpolatePromql } from './grafana-macros';
import { PROMQL_VARIABLES } from './promql-queries';

let h: Harness;
let prom: PrometheusHarness;
const health = knownHealth();

function ctx(): GrafanaQueryContext {
  return {
    from: new Date(Date.now() - 5 * 60_000),
    to: new Date(),
    interval: '1m',
    vars: { namespace: ['shop'], service: ['payments'], collector: ['test-host'] },
  };
}

beforeAll(async () => {
  h = await startHarness({ metrics: {} });
  prom = await startPrometheus({ hostPort: h.server.url.replace('http://', ''), path: '/api/metrics' });
  // Traffic keeps arriving across several scrapes, so rate() and increase() see the counters grow.
  const c = h.client(h.collectorToken);
  for (let i = 0; i < 4; i++) {
    await c.ingest.push.mutate(encodeBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), ...knownTraffic(), health }));
    await new Promise((r) => setTimeout(r, 1500));
  }
  await prom.waitFor('sum(hubble_http_requests_total)', (r) => r.length === 1 && Number(r[0]?.value[1]) === 20);
});

afterAll(async () => {
  await prom?.close();
  await h?.close();
});

const promExports = allExports().filter((e) => e.input.flavour === 'prometheus');

function targetsOf(d: (typeof promExports)[number]['dashboard']): { panel: string; refId: string; expr: string }[] {
  return (d.panels ?? []).flatMap((p) =>
    ('targets' in p ? (p.targets ?? []) : []).map((t) => ({ panel: p.title ?? '', refId: String(t.refId), expr: String(t.expr) })),
  );
}

function single(dashboard: string, panel: string) {
  const e = promExports.find((x) => x.input.dashboard === dashboard && x.input.panel === panel);
  if (!e) throw new Error(`no export ${dashboard}/${panel}`);
  return targetsOf(e.dashboard);
}

async function q(expr: string): Promise<PromSample[]> {
  return prom.query(interpolatePromql(expr, ctx()));
}

describe('Prometheus-flavoured exports on the real Prometheus', () => {
  it('every query of every export returns series', async () => {
    let queries = 0;
    for (const e of promExports) {
      for (const t of targetsOf(e.dashboard)) {
        const r = await q(t.expr);
        expect(r.length, `${e.dashboard.uid} ${t.panel} ${t.refId}: ${t.expr}`).toBeGreaterThan(0);
        queries += 1;
      }
    }
    expect(queries).toBe(44); // overview 11 + 11 single, service 9 + 9, map 2 + 2 (latency has 3 queries, no bytes panel)
  });

  it('requests by protocol, the HTTP error ratio, latency quantiles and drops', async () => {
    const requests = await q(single('service', 'requests')[0]!.expr);
    // Requests are the L7 flows; the TCP records are on the connections panel (formerly both under requests).
    expect(requests.map((s) => s.metric.protocol).sort()).toEqual(['HTTP']);
    const connections = await q(single('service', 'connections')[0]!.expr);
    expect(connections.map((s) => `${s.metric.protocol} ${s.metric.verdict}`).sort()).toEqual(['TCP DROPPED', 'TCP FORWARDED']);
    const errors = await q(single('service', 'errors')[0]!.expr);
    expect(Number(errors[0]?.value[1])).toBeCloseTo(2 / 5, 6);
    const [p50, p95, p99] = await Promise.all(single('service', 'latency').map((t) => q(t.expr)));
    const v = (r: PromSample[] | undefined) => Number(r?.[0]?.value[1]);
    expect(v(p50)).toBeGreaterThan(0.005);
    expect(v(p50)).toBeLessThanOrEqual(0.025); // 10 ms requests fall in the (0.005, 0.025] buckets
    expect(v(p95)).toBeGreaterThan(0.25);
    expect(v(p99)).toBeLessThanOrEqual(0.5); // 300 ms requests fall in (0.25, 0.5]
    const drops = await q(single('overview', 'drops')[0]!.expr);
    expect(drops.map((s) => s.metric.reason)).toEqual(['POLICY_DENIED']);
  });

  it('collector health and the map frames', async () => {
    const [events, lost] = single('overview', 'collectors');
    expect((await q(events!.expr)).map((s) => [s.metric.collector, Number(s.value[1])])).toEqual([['test-host', 120]]);
    expect((await q(lost!.expr)).map((s) => [s.metric.collector, Number(s.value[1])])).toEqual([['test-host', 7]]);
    const [nodes, edges] = single('overview', 'map');
    const nodeIds = (await q(nodes!.expr)).map((s) => s.metric.id).sort();
    expect(nodeIds).toEqual(['data/kafka', 'kube-system/coredns', 'shop/frontend', 'shop/payments']);
    const edgeRows = (await q(edges!.expr)).map((s) => [s.metric.id, s.metric.source, s.metric.target]).sort();
    expect(edgeRows).toEqual([
      ['shop/frontend->data/kafka', 'shop/frontend', 'data/kafka'],
      ['shop/frontend->kube-system/coredns', 'shop/frontend', 'kube-system/coredns'],
      ['shop/frontend->shop/payments', 'shop/frontend', 'shop/payments'],
    ]);
    const serviceEdges = (await q(single('service', 'map')[1]!.expr)).map((s) => s.metric.id);
    expect(serviceEdges).toEqual(['shop/frontend->shop/payments']);
  });

  it('the variable queries find namespaces, services and collectors', async () => {
    const labelValues = async (query: string) => {
      const m = /^label_values\((?:(.+), )?(\w+)\)$/.exec(interpolatePromql(query, ctx()));
      if (!m?.[2]) throw new Error(`not a label_values query: ${query}`);
      const params = new URLSearchParams(m[1] ? { 'match[]': m[1] } : {});
      const body = (await (await fetch(`${prom.url}/api/v1/label/${m[2]}/values?${params}`)).json()) as { data: string[] };
      return body.data;
    };
    expect(await labelValues(PROMQL_VARIABLES.namespace)).toEqual(['data', 'kube-system', 'shop']);
    expect(await labelValues(PROMQL_VARIABLES.service)).toEqual(['payments']);
    expect(await labelValues(PROMQL_VARIABLES.collector)).toEqual(['test-host']);
  });
});
