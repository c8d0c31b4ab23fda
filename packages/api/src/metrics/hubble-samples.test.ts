import { bucketIndex, bucketReportValue, type L7Aggregate } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { flow, http, knownTraffic, PAYMENTS } from '../testing/traffic-fixtures';
import { contextLabels, type HubbleSample, hubbleSamples, rcodeName } from './hubble-samples';

function total(samples: HubbleSample[], metric: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.metric === metric && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

describe('hubbleSamples', () => {
  const samples = hubbleSamples(knownTraffic(), ['namespace', 'workload']);

  it('counts every flow record and L7 event as a processed flow', () => {
    expect(total(samples, 'hubble_flows_processed_total')).toBe(6 + 8);
    expect(total(samples, 'hubble_flows_processed_total', { type: 'L3_L4', verdict: 'DROPPED', protocol: 'TCP' })).toBe(1);
    expect(total(samples, 'hubble_flows_processed_total', { type: 'L7', protocol: 'HTTP' })).toBe(5);
  });

  it('counts dropped packets with their reason, and TCP flags by family', () => {
    expect(samples.filter((s) => s.metric === 'hubble_drop_total')).toEqual([
      {
        metric: 'hubble_drop_total',
        labels: {
          reason: 'POLICY_DENIED',
          protocol: 'TCP',
          source_namespace: 'shop',
          source_workload: 'frontend',
          destination_namespace: 'shop',
          destination_workload: 'payments',
        },
        value: 3,
      },
    ]);
    expect(total(samples, 'hubble_tcp_flags_total', { flag: 'SYN', family: 'IPv4' })).toBe(4);
    expect(total(samples, 'hubble_tcp_flags_total', { flag: 'FIN' })).toBe(0);
  });

  it('maps HTTP requests, responses and durations with the reporter', () => {
    expect(
      total(samples, 'hubble_http_requests_total', {
        method: 'GET',
        protocol: 'HTTP/1.1',
        reporter: 'client',
        destination_workload: 'payments',
      }),
    ).toBe(5);
    expect(total(samples, 'hubble_http_responses_total', { status: '503' })).toBe(2);
    const durations = samples.filter((s) => s.metric === 'hubble_http_request_duration_seconds').map((s) => s.value);
    expect(durations.sort()).toEqual([0.01, 0.01, 0.01, 0.3, 0.3]);
  });

  it('maps DNS queries, responses by rcode name and answer types', () => {
    expect(total(samples, 'hubble_dns_queries_total', { rcode: '', qtypes: 'A' })).toBe(2);
    expect(total(samples, 'hubble_dns_responses_total', { rcode: 'No Error', ips_returned: '1' })).toBe(1);
    expect(total(samples, 'hubble_dns_responses_total', { rcode: 'Non-Existent Domain', ips_returned: '0' })).toBe(1);
    expect(total(samples, 'hubble_dns_response_types_total', { type: 'A', qtypes: 'A' })).toBe(1);
  });

  it('maps Kafka requests', () => {
    expect(
      total(samples, 'hubble_kafka_requests_total', {
        topic: 'orders',
        api_key: 'produce',
        error_code: '0',
        destination_workload: 'kafka',
        destination_namespace: 'data',
      }),
    ).toBe(1);
    expect(total(samples, 'hubble_kafka_request_duration_seconds')).toBeCloseTo(0.005);
  });

  it('leaves an HTTP exchange without response out of responses and durations', () => {
    const s = hubbleSamples({ flows: [], l7: [http(undefined, 0, { latencyNs: undefined })] }, []);
    expect(s.map((x) => x.metric).sort()).toEqual(['hubble_flows_processed_total', 'hubble_http_requests_total']);
    expect(s[1]?.labels).toEqual({ method: 'GET', protocol: 'HTTP/1.1', reporter: 'client' });
  });
});

describe('contextLabels', () => {
  it('names workloads like the service map, prefers the collector workload, and can add pods and IPs', () => {
    const f = flow({ destination: { ...PAYMENTS, podName: 'payments-7d9f', workloads: [{ name: 'payments-v2', kind: 'Deployment' }] } });
    expect(contextLabels(f.source, f.destination, ['namespace', 'workload', 'pod', 'ip'])).toEqual({
      source_namespace: 'shop',
      source_workload: 'frontend',
      source_pod: '',
      source_ip: '10.0.0.1',
      destination_namespace: 'shop',
      destination_workload: 'payments-v2',
      destination_pod: 'payments-7d9f',
      destination_ip: '10.0.0.2',
    });
    expect(contextLabels({ ip: '8.8.8.8' }, { ip: '10.1.2.3' }, ['workload'])).toEqual({
      source_workload: 'world',
      destination_workload: '10.1.2.3',
    });
  });

  it('names rcodes as Hubble does', () => {
    expect([0, 2, 3, 5, 9].map(rcodeName)).toEqual(['No Error', 'Server Failure', 'Non-Existent Domain', 'Query Refused', 'RCODE9']);
  });

  it('counts a kernel aggregate by its count, observes its buckets at their reported value, and skips sampled records', () => {
    const agg: L7Aggregate = {
      time: 0,
      windowSeconds: 5,
      protocol: 'http',
      reporter: 'server',
      source: { ip: '10.0.0.9', service: 'frontend', namespace: 'shop' },
      destination: { ...PAYMENTS, port: 8080 },
      method: 'POST',
      code: 201,
      count: 40,
      latencySumNs: 123_456_789,
      idx: [bucketIndex(1_000_000), bucketIndex(5_000_000)],
      cnt: [30, 10],
    };
    const sampled = http(200, 3, { sampling: 'sampled' });
    const out = hubbleSamples({ flows: [], l7: [sampled], l7Aggregates: [agg] }, []);
    expect(out.map((s) => [s.metric, s.labels, s.value])).toEqual([
      ['hubble_flows_processed_total', { type: 'L7', subtype: 'RESPONSE', verdict: 'FORWARDED', protocol: 'HTTP' }, 40],
      ['hubble_http_requests_total', { method: 'POST', protocol: 'HTTP/1.1', reporter: 'server' }, 40],
      ['hubble_http_responses_total', { method: 'POST', status: '201', reporter: 'server' }, 40],
      ['hubble_http_request_duration_seconds', { method: 'POST', reporter: 'server' }, 0.123456789],
    ]);
    expect(out[3]?.observations).toEqual([
      [bucketReportValue(bucketIndex(1_000_000)) / 1e9, 30],
      [bucketReportValue(bucketIndex(5_000_000)) / 1e9, 10],
    ]);
  });
});
