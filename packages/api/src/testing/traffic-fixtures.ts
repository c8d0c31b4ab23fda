/** Named, hand-counted traffic for the metrics and Grafana tests: every expected count is stated here. */
import { Flow, type FlowInput, L7Event, type L7EventInput } from '@sextant/shared';

let n = 0;
function uuid(): string {
  n += 1;
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export const FRONTEND = { ip: '10.0.0.1', service: 'frontend', namespace: 'shop', process: { pid: 10, name: 'node' } };
export const PAYMENTS = { ip: '10.0.0.2', port: 8080, service: 'payments', namespace: 'shop' };
export const COREDNS = { ip: '10.0.0.53', port: 53, service: 'coredns', namespace: 'kube-system' };
export const KAFKA = { ip: '10.0.0.9', port: 9092, service: 'kafka', namespace: 'data' };

export function flow(over: Partial<FlowInput> = {}): Flow {
  return Flow.parse({
    id: uuid(),
    time: over.time ?? Date.now() - 60_000,
    nodeName: 'node-a',
    verdict: 'FORWARDED',
    l4Protocol: 'TCP',
    ipVersion: 4,
    source: FRONTEND,
    destination: PAYMENTS,
    tcpFlags: ['SYN', 'ACK'],
    trafficDirection: 'EGRESS',
    bytesSent: 100,
    bytesReceived: 200,
    connectLatencyNs: 1_000_000,
    closeReason: 'CLOSED',
    ...over,
  });
}

export function http(code: number | undefined, latencyMs: number, over: Partial<L7EventInput> = {}): L7Event {
  return L7Event.parse({
    id: uuid(),
    flowId: uuid(),
    time: over.time ?? Date.now() - 60_000,
    nodeName: 'node-a',
    protocol: 'http',
    latencyNs: latencyMs * 1e6,
    source: FRONTEND,
    destination: PAYMENTS,
    http: { method: 'GET', url: 'http://payments/pay', path: '/pay', code },
    ...over,
  });
}

export function dns(rcode: number | undefined, over: Partial<L7EventInput> = {}): L7Event {
  return L7Event.parse({
    id: uuid(),
    flowId: uuid(),
    time: over.time ?? Date.now() - 60_000,
    nodeName: 'node-a',
    protocol: 'dns',
    latencyNs: 2e6,
    source: FRONTEND,
    destination: COREDNS,
    dns: { query: 'payments.shop.svc.', qtypes: ['A'], rcode, ips: rcode === 0 ? ['10.0.0.2'] : [], rrtypes: rcode === 0 ? ['A'] : [] },
    ...over,
  });
}

export function kafka(errorCode: number, over: Partial<L7EventInput> = {}): L7Event {
  return L7Event.parse({
    id: uuid(),
    flowId: uuid(),
    time: over.time ?? Date.now() - 60_000,
    nodeName: 'node-a',
    protocol: 'kafka',
    latencyNs: 5e6,
    source: FRONTEND,
    destination: KAFKA,
    kafka: { apiKey: 'produce', apiVersion: 9, correlationId: 1, topic: 'orders', errorCode },
    ...over,
  });
}

/**
 * Known traffic, frontend → payments unless said otherwise:
 * - 4 TCP flows (SYN,ACK) FORWARDED, 1 UDP flow frontend → coredns, 1 DROPPED TCP flow with 3 packets
 *   (reason POLICY_DENIED, no flags);
 * - 5 HTTP GET: 3 × 200 (10 ms), 2 × 503 (300 ms);
 * - 2 DNS: one NOERROR with one A answer, one NXDOMAIN;
 * - 1 Kafka produce to topic orders, error code 0.
 */
export function knownTraffic(time = Date.now() - 60_000) {
  const flows = [
    ...Array.from({ length: 4 }, () => flow({ time })),
    flow({ time, l4Protocol: 'UDP', destination: COREDNS, tcpFlags: [], closeReason: 'NONE' }),
    flow({ time, verdict: 'DROPPED', dropReason: 'POLICY_DENIED', tcpFlags: [], packetsSent: 3, closeReason: 'NONE' }),
  ];
  const l7 = [
    ...Array.from({ length: 3 }, () => http(200, 10, { time })),
    ...Array.from({ length: 2 }, () => http(503, 300, { time })),
    dns(0, { time }),
    dns(3, { time }),
    kafka(0, { time }),
  ];
  return { flows, l7, histograms: [] };
}

/** The collector health report sent with {@link knownTraffic} by the metrics and Grafana tests (node-a: 7 lost events, 900 of 1,000 bytes parsed). */
export function knownHealth(time = Date.now()) {
  return {
    time,
    version: '0.1.0',
    kernel: '6.18',
    hostname: 'node-a',
    eventsPerSecond: 120,
    lostEvents: 7,
    parsedBytes: 900,
    unparsedBytes: 100,
    spoolBytes: 0,
  };
}
