/**
 * End to end: the real API on a loopback port, batches pushed through the real tRPC ingest endpoint with a
 * collector token, the Debian Prometheus scraping /api/metrics (with the bearer token) every second, and
 * PromQL over its HTTP API returning exactly what was sent.
 */
import type { IngestBatchInput } from '@sextant/shared';
import { encodeBatch } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/api-harness';
import { knownHealth, knownTraffic } from '../testing/traffic-fixtures';
import { type PrometheusHarness, scalarOf, startPrometheus } from '../testing/prometheus-harness';

const TOKEN = 'metrics-token-0123456789';
let h: Harness;
let prom: PrometheusHarness;

function batch(health?: IngestBatchInput['health']): IngestBatchInput {
  return encodeBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), ...knownTraffic(), health });
}

const health = knownHealth();

beforeAll(async () => {
  h = await startHarness({ metrics: { SEXTANT_METRICS_TOKEN: TOKEN } });
  prom = await startPrometheus({ hostPort: h.server.url.replace('http://', ''), path: '/api/metrics', bearer: TOKEN });
});

afterAll(async () => {
  await prom?.close();
  await h?.close();
});

describe('/api/metrics scraped by Prometheus', () => {
  it('refuses a scrape without the token when one is configured', async () => {
    expect((await fetch(`${h.server.url}/api/metrics`)).status).toBe(401);
    expect((await fetch(`${h.server.url}/api/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    const ok = await fetch(`${h.server.url}/api/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('counts what was ingested, once per stored batch, in PromQL', async () => {
    const c = h.client(h.collectorToken);
    const first = batch(health);
    expect((await c.ingest.push.mutate(first)).stored).toBe(true);
    expect((await c.ingest.push.mutate(first)).stored).toBe(false); // replay: must not count again
    expect((await c.ingest.push.mutate(batch())).stored).toBe(true);

    const http = await prom.waitFor('sum(hubble_http_requests_total{destination_workload="payments"})', (r) => scalarOf(r) === 10);
    expect(scalarOf(http)).toBe(10);
    const q = async (promql: string) => scalarOf(await prom.query(promql));
    expect(await q('up{job="sextant"}')).toBe(1);
    expect(await q('sum(hubble_http_responses_total{destination_workload="payments",status="503"})')).toBe(4);
    expect(await q('sum(hubble_http_request_duration_seconds_count{source_workload="frontend"})')).toBe(10);
    expect(await q('sum(hubble_http_request_duration_seconds_bucket{le="0.025"})')).toBe(6);
    expect(await q('sum(hubble_flows_processed_total)')).toBe(28);
    expect(await q('sum(hubble_flows_processed_total{type="L3_L4",verdict="DROPPED"})')).toBe(2);
    expect(await q('sum(hubble_drop_total{reason="POLICY_DENIED",protocol="TCP"})')).toBe(6);
    expect(await q('sum(hubble_tcp_flags_total{flag="SYN",family="IPv4"})')).toBe(8);
    expect(await q('sum(hubble_dns_queries_total{destination_workload="coredns",destination_namespace="kube-system"})')).toBe(4);
    expect(await q('sum(hubble_dns_responses_total{rcode="Non-Existent Domain"})')).toBe(2);
    expect(await q('sum(hubble_dns_response_types_total{type="A"})')).toBe(2);
    expect(await q('sum(hubble_kafka_requests_total{topic="orders",api_key="produce"})')).toBe(2);
    expect(await q('sum(hubble_kafka_request_duration_seconds_count)')).toBe(2);
    expect(await q('sextant_ingest_batches_total{collector="test-host"}')).toBe(2);
    expect(await q('sextant_ingest_rows_total{collector="test-host",kind="flows"}')).toBe(12);
    expect(await q('hubble_lost_events_total{collector="test-host"}')).toBe(7);
    expect(await q('sextant_collector_events_per_second{collector="test-host"}')).toBe(120);
    expect(await q('sextant_collector_unparsed_ratio{collector="test-host"}')).toBe(0.1);
  });

  it('follows traffic that keeps arriving while Prometheus scrapes', async () => {
    const c = h.client(h.collectorToken);
    for (let i = 0; i < 3; i++) {
      await c.ingest.push.mutate(batch());
      await new Promise((r) => setTimeout(r, 1100));
    }
    const r = await prom.waitFor('sum(hubble_http_requests_total{destination_workload="payments"})', (x) => scalarOf(x) === 25);
    expect(scalarOf(r)).toBe(25);
    // increase() over the scrapes that saw the counter grow: 15 requests arrived after the first scrapes.
    const inc = await prom.query('sum(increase(hubble_http_requests_total{destination_workload="payments"}[1m]))');
    expect(scalarOf(inc)).toBeGreaterThan(0);
  });
});
