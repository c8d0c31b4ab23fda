/**
 * Known traffic for the CLI tests: five flows and four L7 events of node-a, whole seconds five minutes ago, and
 * the exact compact line `sextant observe` prints for each (hubble's format, UTC).
 */
import type { FlowInput, L7EventInput } from '@sextant/shared';

// Known traffic: whole seconds five minutes ago, so every time prints exactly.
export const base = Math.floor(Date.now() / 1000) * 1000 - 300_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export const ts = (ms: number) => {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 23)}`;
};
const ep = (ip: string, port: number, service: string, namespace: string) => ({ ip, port, service, namespace });
const payments = (port: number) => ep('10.0.0.1', port, 'payments', 'shop');
export const api = ep('10.0.0.2', 8080, 'api', 'shop');
export const web = (port: number) => ep('10.0.0.3', port, 'web', 'shop');
const kubeDns = ep('10.96.0.10', 53, 'kube-dns', 'kube-system');
export const id = () => crypto.randomUUID();
export const flow = (f: Omit<FlowInput, 'id' | 'nodeName' | 'ipVersion' | 'verdict'> & Partial<FlowInput>): FlowInput => ({
  id: id(),
  nodeName: 'node-a',
  ipVersion: 4,
  verdict: 'FORWARDED',
  trafficDirection: 'EGRESS',
  ...f,
});
export const F1 = flow({
  time: base + 1123,
  l4Protocol: 'TCP',
  source: payments(43210),
  destination: api,
  tcpFlags: ['SYN', 'ACK', 'FIN'],
  bytesSent: 512,
});
export const F2 = flow({
  time: base + 2000,
  l4Protocol: 'TCP',
  verdict: 'DROPPED',
  dropReason: 'POLICY_DENIED',
  trafficDirection: 'INGRESS',
  source: web(50000),
  destination: ep('10.0.0.4', 5432, 'db', 'data'),
  tcpFlags: ['SYN'],
});
export const F3 = flow({ time: base + 3000, l4Protocol: 'UDP', source: payments(53000), destination: kubeDns });
export const F5 = flow({
  time: base + 3500,
  l4Protocol: 'TCP',
  source: payments(43300),
  destination: ep('10.0.0.5', 8080, 'ledger', 'finance'),
  tcpFlags: ['SYN', 'ACK'],
});
const http = (
  time: number,
  source: ReturnType<typeof ep>,
  method: string,
  url: string,
  code: number,
  ms: number,
  host?: string,
): L7EventInput => ({
  id: id(),
  flowId: F1.id,
  time,
  nodeName: 'node-a',
  type: 'RESPONSE',
  protocol: 'http',
  latencyNs: ms * 1_000_000,
  source,
  destination: api,
  http: { method, url, path: url, code, ...(host ? { host } : {}) },
});
export const L1 = http(base + 4000, payments(43210), 'GET', '/v1/orders', 200, 5, 'api.shop:8080');
export const L2 = http(base + 5000, payments(43210), 'POST', '/v1/pay', 503, 12, 'api.shop:8080');
export const L3 = http(base + 6000, web(50002), 'GET', '/health', 502, 3);
export const L4: L7EventInput = {
  id: id(),
  flowId: F3.id,
  time: base + 7000,
  nodeName: 'node-a',
  type: 'RESPONSE',
  protocol: 'dns',
  latencyNs: 350_000,
  source: payments(53000),
  destination: kubeDns,
  dns: { query: 'api.shop.svc.cluster.local.', ips: ['10.0.0.2'], ttl: 30, qtypes: ['A'], rrtypes: ['A'], rcode: 0 },
};
export const F4 = flow({ time: base + 8000, l4Protocol: 'TCP', source: web(50001), destination: api, tcpFlags: ['SYN', 'ACK'] });
export const FLOWS = [F1, F2, F3, F5, F4];
export const EVENTS = [L1, L2, L3, L4];

export const EXPECTED: Record<string, string> = {
  F1: `${ts(F1.time)}: 10.0.0.1:43210 (payments) -> 10.0.0.2:8080 (api) to-stack FORWARDED (TCP Flags: FIN, SYN, ACK)`,
  F2: `${ts(F2.time)}: 10.0.0.3:50000 (web) -> 10.0.0.4:5432 (db) Policy denied DROPPED (TCP Flags: SYN)`,
  F3: `${ts(F3.time)}: 10.0.0.1:53000 (payments) -> 10.96.0.10:53 (kube-dns) to-stack FORWARDED (UDP)`,
  F5: `${ts(F5.time)}: 10.0.0.1:43300 (payments) -> 10.0.0.5:8080 (ledger) to-stack FORWARDED (TCP Flags: SYN, ACK)`,
  L1: `${ts(L1.time)}: 10.0.0.1:43210 (payments) <- 10.0.0.2:8080 (api) http-response FORWARDED (HTTP/1.1 200 5ms (GET http://api.shop:8080/v1/orders))`,
  L2: `${ts(L2.time)}: 10.0.0.1:43210 (payments) <- 10.0.0.2:8080 (api) http-response FORWARDED (HTTP/1.1 503 12ms (POST http://api.shop:8080/v1/pay))`,
  L3: `${ts(L3.time)}: 10.0.0.3:50002 (web) <- 10.0.0.2:8080 (api) http-response FORWARDED (HTTP/1.1 502 3ms (GET /health))`,
  L4: `${ts(L4.time)}: 10.0.0.1:53000 (payments) <- 10.96.0.10:53 (kube-dns) dns-response FORWARDED (DNS Answer "10.0.0.2" TTL: 30 (Proxy api.shop.svc.cluster.local. A))`,
  F4: `${ts(F4.time)}: 10.0.0.3:50001 (web) -> 10.0.0.2:8080 (api) to-stack FORWARDED (TCP Flags: SYN, ACK)`,
};
export const expected = (...names: string[]) => names.map((n) => EXPECTED[n]);
export const ALL = ['F1', 'F2', 'F3', 'F5', 'L1', 'L2', 'L3', 'L4', 'F4'];
