import { describe, expect, it } from 'vitest';
import { Flow, L7Event } from './flow';
import { FlowQueryFilter } from './filter';
import { ipMatches, matchesQuery, matchFlow, matchL7, validateQueryFilter, type FilterRecord } from './matcher';

const flow = Flow.parse({
  id: '7d0b4f6e-3f7a-4a2b-9c1d-2e3f4a5b6c7d',
  time: 1,
  nodeName: 'node-a',
  verdict: 'FORWARDED',
  l4Protocol: 'TCP',
  ipVersion: 4,
  source: {
    ip: '10.0.1.7',
    port: 40000,
    service: 'checkout',
    namespace: 'shop',
    podName: 'checkout-abc',
    labels: ['app=checkout', 'tier=web'],
  },
  destination: { ip: '10.0.2.9', port: 8080, service: 'payments', namespace: 'shop', names: ['payments.shop.svc'] },
  tcpFlags: ['SYN', 'ACK', 'FIN'],
  trafficDirection: 'EGRESS',
});
const http503 = L7Event.parse({
  id: crypto.randomUUID(),
  flowId: flow.id,
  time: 2,
  nodeName: 'node-a',
  protocol: 'http',
  latencyNs: 1_000_000,
  source: flow.source,
  destination: flow.destination,
  http: { method: 'POST', url: 'http://payments/api/charge/42', path: '/api/charge/42', code: 503 },
});
const dnsEvent = L7Event.parse({
  id: crypto.randomUUID(),
  flowId: flow.id,
  time: 3,
  nodeName: 'node-a',
  protocol: 'dns',
  source: flow.source,
  destination: { ip: '10.0.0.10', port: 53 },
  dns: { query: 'api.example.com.', rcode: 3 },
});
const records: FilterRecord[] = [
  { kind: 'flow', flow },
  { kind: 'l7', event: http503 },
  { kind: 'l7', event: dnsEvent },
];
const ids = (q: unknown) =>
  records.filter((r) => matchesQuery(r, FlowQueryFilter.parse(q))).map((r) => (r.kind === 'flow' ? 'flow' : r.event.protocol));

describe('matcher', () => {
  it('matches addresses exactly and by CIDR, v4 and v6', () => {
    expect(ipMatches('10.0.1.7', '10.0.0.0/16')).toBe(true);
    expect(ipMatches('10.1.1.7', '10.0.0.0/16')).toBe(false);
    expect(ipMatches('2001:db8::1', '2001:db8::/32')).toBe(true);
    expect(ipMatches('2001:db9::1', '2001:db8::/32')).toBe(false);
    expect(ipMatches('10.0.1.7', '2001:db8::/32')).toBe(false);
  });

  it('ANDs fields, ORs values, and applies deny lists', () => {
    expect(ids({ allow: [{ sourceService: ['checkout'], destinationService: ['payments'] }] })).toEqual(['flow', 'http']);
    expect(ids({ allow: [{ sourceService: ['checkout'], destinationService: ['nope'] }] })).toEqual([]);
    expect(ids({ allow: [{ destinationService: ['nope', 'payments'] }] })).toEqual(['flow', 'http']);
    expect(ids({ allow: [{ sourceService: ['checkout'] }], deny: [{ protocol: ['dns'] }] })).toEqual(['flow', 'http']);
    expect(ids({})).toEqual(['flow', 'http', 'dns']);
  });

  it('treats either-side flags as two allow filters', () => {
    expect(ids({ allow: [{ sourceIp: ['10.0.0.10'] }, { destinationIp: ['10.0.0.10'] }] })).toEqual(['dns']);
  });

  it('matches HTTP status prefixes, methods, path regexes and DNS queries only on L7 events', () => {
    expect(ids({ allow: [{ httpStatusCode: ['5+'] }] })).toEqual(['http']);
    expect(ids({ allow: [{ httpStatusCode: ['50+'] }] })).toEqual(['http']);
    expect(ids({ allow: [{ httpStatusCode: ['404'] }] })).toEqual([]);
    expect(ids({ allow: [{ httpMethod: ['post'], httpPath: ['^/api/charge/\\d+$'] }] })).toEqual(['http']);
    expect(ids({ allow: [{ dnsQuery: ['example\\.com$'] }] })).toEqual(['dns']);
    expect(matchFlow(flow, { httpStatusCode: ['5+'] })).toBe(false);
  });

  it('matches status prefixes as numeric ranges, like the SQL compiler', () => {
    const withCode = (code: number) => L7Event.parse({ ...http503, http: { ...http503.http, code } });
    const match = (code: number, pattern: string) => matchL7(withCode(code), { httpStatusCode: [pattern] });
    expect([match(503, '5+'), match(599, '5+'), match(600, '5+'), match(499, '5+')]).toEqual([true, true, false, false]);
    // A string prefix would take these for 5xx / 50x.
    expect([match(5, '5+'), match(50, '5+'), match(50, '50+'), match(5, '50+')]).toEqual([false, false, false, false]);
    expect([match(503, '50+'), match(510, '50+'), match(404, '404')]).toEqual([true, false, true]);
  });

  it('matches labels, pods, fqdns, ports, flags, verdicts and event types', () => {
    expect(ids({ allow: [{ sourceLabel: ['app=checkout'], sourcePod: ['shop/checkout-abc'] }] })).toEqual(['flow', 'http', 'dns']);
    expect(ids({ allow: [{ sourceLabel: ['tier'] }] })).toHaveLength(3);
    expect(ids({ allow: [{ destinationFqdn: ['*.shop.svc'] }] })).toEqual(['flow', 'http']);
    expect(ids({ allow: [{ destinationPort: ['53'] }] })).toEqual(['dns']);
    expect(ids({ allow: [{ tcpFlags: ['FIN'] }] })).toEqual(['flow']);
    expect(ids({ allow: [{ verdict: ['DROPPED'] }] })).toEqual([]);
    expect(ids({ allow: [{ eventType: ['L7'] }] })).toEqual(['http', 'dns']);
    expect(ids({ allow: [{ protocol: ['udp'] }] })).toEqual(['dns']);
    expect(matchL7(http503, { protocol: ['tcp'] })).toBe(true);
  });

  it('reports bad regexes and addresses instead of throwing', () => {
    const q = FlowQueryFilter.parse({ allow: [{ httpPath: ['('], sourceIp: ['10.0.0.0/40', 'nope'] }] });
    expect(validateQueryFilter(q)).toEqual([
      'allow.0.httpPath: invalid regular expression (',
      'allow.0.sourceIp: not an IP or CIDR: 10.0.0.0/40',
      'allow.0.sourceIp: not an IP or CIDR: nope',
    ]);
    expect(ids({ allow: [{ httpPath: ['('] }] })).toEqual([]);
  });
});
