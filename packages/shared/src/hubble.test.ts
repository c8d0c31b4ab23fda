import { describe, expect, it } from 'vitest';
import { Flow, L7Event } from './flow';
import { fromRfc3339, stableUuid, toHubbleJson, toHubbleJsonLine, toRfc3339 } from './hubble';
import { fromHubbleJson, HubbleParseError } from './hubble-import';

/**
 * Fixtures written from flow.proto's field names in the shape `hubble observe -o jsonpb` prints (proto
 * names, enums by name, uint64 as strings, zero values left out, declaration order). Each one holds only
 * fields Sextant carries, so importing and exporting it again must give back the identical line.
 */
const pay = '"namespace":"shop","pod_name":"payments-7d9f-abcde","workloads":[{"name":"payments","kind":"Deployment"}]';
const api = '"namespace":"shop","pod_name":"api-5c6d-fghij","workloads":[{"name":"api","kind":"Deployment"}]';
const wrap = (flow: string, node: string, time: string) => `{"flow":{${flow}},"node_name":"${node}","time":"${time}"}`;

export const FIXTURES = {
  tcp: wrap(
    '"time":"2026-11-25T12:00:01.123456Z","uuid":"5f0c9a3e-1b2d-4c5e-8f70-0a1b2c3d4e5f","verdict":"FORWARDED",' +
      '"IP":{"source":"10.0.0.1","destination":"10.0.0.2","ipVersion":"IPv4"},' +
      '"l4":{"TCP":{"source_port":43210,"destination_port":8080,"flags":{"FIN":true,"SYN":true,"ACK":true}}},' +
      `"source":{"namespace":"shop","labels":["k8s:app=payments"],"pod_name":"payments-7d9f-abcde","workloads":[{"name":"payments","kind":"Deployment"}]},` +
      `"destination":{${api}},"Type":"L3_L4","node_name":"node-a","event_type":{"type":4},"traffic_direction":"EGRESS","is_reply":false,` +
      '"Summary":"TCP Flags: FIN, SYN, ACK"',
    'node-a',
    '2026-11-25T12:00:01.123456Z',
  ),
  udp: wrap(
    '"time":"2026-11-25T12:00:02Z","uuid":"6a1d0b4f-2c3e-4d5f-9a81-1b2c3d4e5f60","verdict":"FORWARDED",' +
      '"IP":{"source":"10.0.0.1","destination":"10.96.0.10","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53000,"destination_port":53}},' +
      '"source":{},"destination":{"namespace":"kube-system","pod_name":"coredns-1","workloads":[{"name":"coredns","kind":"Deployment"}]},' +
      '"Type":"L3_L4","node_name":"node-a","event_type":{"type":4},"destination_service":{"name":"kube-dns","namespace":"kube-system"},' +
      '"traffic_direction":"EGRESS","is_reply":false,"Summary":"UDP"',
    'node-a',
    '2026-11-25T12:00:02Z',
  ),
  dropped: wrap(
    '"time":"2026-11-25T12:00:03.500Z","uuid":"7b2e1c50-3d4f-4e60-8b92-2c3d4e5f6071","verdict":"DROPPED",' +
      '"IP":{"source":"fd00::1","destination":"fd00::2","ipVersion":"IPv6"},"l4":{"TCP":{"source_port":50000,"destination_port":443,"flags":{"SYN":true}}},' +
      '"source":{"namespace":"shop","pod_name":"web-1"},"destination":{"namespace":"db","pod_name":"postgres-0","workloads":[{"name":"postgres","kind":"StatefulSet"}]},' +
      '"Type":"L3_L4","node_name":"node-b","event_type":{"type":1},"traffic_direction":"INGRESS","drop_reason_desc":"POLICY_DENIED","is_reply":false,' +
      '"Summary":"TCP Flags: SYN"',
    'node-b',
    '2026-11-25T12:00:03.500Z',
  ),
  httpRequest: wrap(
    '"time":"2026-11-25T12:00:04.250Z","uuid":"8c3f2d61-4e50-4f71-9ca3-3d4e5f607182","verdict":"FORWARDED",' +
      '"IP":{"source":"10.0.0.1","destination":"10.0.0.2","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":43210,"destination_port":8080}},' +
      `"source":{${pay}},"destination":{${api}},"Type":"L7","node_name":"node-a",` +
      '"l7":{"type":"REQUEST","http":{"method":"GET","url":"http://api.shop:8080/v1/orders?id=7","protocol":"HTTP/1.1","headers":[{"key":"User-Agent","value":"curl/8.5.0"}]}},' +
      '"event_type":{"type":129},"is_reply":false,"Summary":"HTTP/1.1 GET http://api.shop:8080/v1/orders?id=7"',
    'node-a',
    '2026-11-25T12:00:04.250Z',
  ),
  httpResponse: wrap(
    '"time":"2026-11-25T12:00:04.262Z","uuid":"9d403e72-5f61-4082-adb4-4e5f60718293","verdict":"FORWARDED",' +
      '"IP":{"source":"10.0.0.2","destination":"10.0.0.1","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":8080,"destination_port":43210}},' +
      `"source":{${api}},"destination":{${pay}},"Type":"L7","node_name":"node-a",` +
      '"l7":{"type":"RESPONSE","latency_ns":"12000000","http":{"code":503,"method":"GET","url":"http://api.shop:8080/v1/orders?id=7","protocol":"HTTP/1.1"}},' +
      '"event_type":{"type":129},"is_reply":true,"Summary":"HTTP/1.1 503 12ms (GET http://api.shop:8080/v1/orders?id=7)"',
    'node-a',
    '2026-11-25T12:00:04.262Z',
  ),
  dns: wrap(
    '"time":"2026-11-25T12:00:05.000350Z","uuid":"ae514f83-6072-4193-8ec5-5f60718293a4","verdict":"FORWARDED",' +
      '"IP":{"source":"10.96.0.10","destination":"10.0.0.1","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":53000}},' +
      '"source":{"namespace":"kube-system","pod_name":"coredns-1","workloads":[{"name":"coredns","kind":"Deployment"}]},"destination":{},' +
      '"Type":"L7","node_name":"node-a",' +
      '"l7":{"type":"RESPONSE","latency_ns":"350000","dns":{"query":"api.shop.svc.cluster.local.","ips":["10.0.0.2"],"ttl":30,"qtypes":["A"],"rrtypes":["A"]}},' +
      '"event_type":{"type":129},"source_service":{"name":"kube-dns","namespace":"kube-system"},"is_reply":true,' +
      '"Summary":"DNS Answer \\"10.0.0.2\\" TTL: 30 (Proxy api.shop.svc.cluster.local. A)"',
    'node-a',
    '2026-11-25T12:00:05.000350Z',
  ),
  kafka: wrap(
    '"time":"2026-11-25T12:00:06.100Z","uuid":"bf625094-7183-42a4-9fd6-60718293a4b5","verdict":"FORWARDED",' +
      '"IP":{"source":"10.0.0.1","destination":"10.0.0.9","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":40001,"destination_port":9092}},' +
      `"source":{${pay}},"destination":{"namespace":"data","pod_name":"kafka-0","workloads":[{"name":"kafka","kind":"StatefulSet"}]},"Type":"L7","node_name":"node-a",` +
      '"l7":{"type":"REQUEST","kafka":{"api_version":9,"api_key":"produce","correlation_id":42,"topic":"orders"}},' +
      '"event_type":{"type":129},"is_reply":false,"Summary":"Kafka request produce correlation id 42 topic \'orders\'"',
    'node-a',
    '2026-11-25T12:00:06.100Z',
  ),
};

const record = (line: string) => {
  const r = fromHubbleJson(line);
  if (r.kind === 'skipped') throw new Error(`skipped: ${r.reason}`);
  return r;
};
const flowOf = (line: string) => {
  const r = record(line);
  if (r.kind !== 'flow') throw new Error('not a flow');
  return r.flow;
};
const eventOf = (line: string) => {
  const r = record(line);
  if (r.kind !== 'l7') throw new Error('not an L7 event');
  return r.event;
};

describe('Hubble jsonpb round trip', () => {
  for (const [name, line] of Object.entries(FIXTURES)) {
    it(`${name}: import then export gives the identical line`, () => {
      const r = record(line);
      expect(toHubbleJsonLine(r.kind === 'flow' ? r.flow : r.event)).toBe(line);
    });
  }

  it('reads L3/L4 fields into the flow model', () => {
    const f = flowOf(FIXTURES.tcp);
    expect(f).toMatchObject({
      id: '5f0c9a3e-1b2d-4c5e-8f70-0a1b2c3d4e5f',
      time: Date.UTC(2026, 10, 25, 12, 0, 1) + 123.456,
      nodeName: 'node-a',
      verdict: 'FORWARDED',
      l4Protocol: 'TCP',
      ipVersion: 4,
      tcpFlags: ['SYN', 'ACK', 'FIN'],
      trafficDirection: 'EGRESS',
      isReply: false,
      source: {
        ip: '10.0.0.1',
        port: 43210,
        service: 'payments',
        namespace: 'shop',
        podName: 'payments-7d9f-abcde',
        labels: ['k8s:app=payments'],
        workloads: [{ name: 'payments', kind: 'Deployment' }],
      },
      destination: { ip: '10.0.0.2', port: 8080, service: 'api' },
    });
    const d = flowOf(FIXTURES.dropped);
    expect([d.verdict, d.dropReason, d.ipVersion, d.source.service, d.destination.service]).toEqual([
      'DROPPED',
      'POLICY_DENIED',
      6,
      undefined,
      'postgres',
    ]);
    const u = flowOf(FIXTURES.udp);
    expect([u.l4Protocol, u.destination.port, u.destination.service, u.destination.namespace]).toEqual([
      'UDP',
      53,
      'kube-dns',
      'kube-system',
    ]);
  });

  it('reads a response the client → server way round and keeps the L7 details', () => {
    const req = eventOf(FIXTURES.httpRequest);
    const res = eventOf(FIXTURES.httpResponse);
    expect(res).toMatchObject({
      type: 'RESPONSE',
      protocol: 'http',
      latencyNs: 12_000_000,
      source: { ip: '10.0.0.1', port: 43210, service: 'payments' },
      destination: { ip: '10.0.0.2', port: 8080, service: 'api' },
    });
    expect(res.http).toMatchObject({ code: 503, method: 'GET', path: '/v1/orders', host: 'api.shop:8080', protocol: 'HTTP/1.1' });
    expect(req.http).toMatchObject({ method: 'GET', path: '/v1/orders', headers: [{ key: 'User-Agent', value: 'curl/8.5.0' }] });
    expect(req.http?.code).toBeUndefined();
    // Both halves of one exchange belong to the same connection.
    expect(res.flowId).toBe(req.flowId);
    const dns = eventOf(FIXTURES.dns);
    expect(dns).toMatchObject({
      protocol: 'dns',
      latencyNs: 350_000,
      source: { ip: '10.0.0.1', port: 53000 },
      destination: { ip: '10.96.0.10', service: 'kube-dns' },
    });
    expect(dns.dns).toEqual({
      query: 'api.shop.svc.cluster.local.',
      ips: ['10.0.0.2'],
      ttl: 30,
      rcode: 0,
      cnames: [],
      qtypes: ['A'],
      rrtypes: ['A'],
      transport: 'udp',
    });
    expect(eventOf(FIXTURES.kafka).kafka).toEqual({ apiKey: 'produce', apiVersion: 9, correlationId: 42, topic: 'orders' });
  });

  it('exports Sextant-native records with the fields Hubble has, and reads them back', () => {
    const flow = Flow.parse({
      id: crypto.randomUUID(),
      time: Date.UTC(2026, 10, 25, 12) + 123.5,
      nodeName: 'host-1',
      verdict: 'FORWARDED',
      l4Protocol: 'TCP',
      ipVersion: 4,
      source: { ip: '192.168.1.10', port: 51000, service: 'checkout', process: { pid: 12, name: 'node' } },
      destination: { ip: '192.168.1.20', port: 5432, service: 'postgres', names: ['db.internal'] },
      tcpFlags: ['SYN', 'ACK', 'FIN'],
      bytesSent: 1200,
      retransmits: 3,
      closeReason: 'CLOSED',
    });
    const line = toHubbleJson(flow);
    expect(line.time).toBe('2026-11-25T12:00:00.123500Z');
    expect(line.flow.source_service).toEqual({ name: 'checkout' });
    expect(line.flow.destination_names).toEqual(['db.internal']);
    expect(JSON.stringify(line)).not.toMatch(/bytes|retransmit|process/);
    const back = flowOf(JSON.stringify(line));
    expect(back).toEqual({ ...flow, bytesSent: 0, retransmits: 0, closeReason: 'NONE', source: { ...flow.source, process: undefined } });

    const event = L7Event.parse({
      id: crypto.randomUUID(),
      flowId: flow.id,
      time: flow.time + 5,
      nodeName: 'host-1',
      type: 'RESPONSE',
      protocol: 'http',
      latencyNs: 2_500_000,
      source: flow.source,
      destination: flow.destination,
      http: { method: 'POST', url: '/pay?card=redacted', path: '/pay', host: 'payments.local', code: 201 },
    });
    const e = toHubbleJson(event).flow;
    expect([e.IP?.source, e.is_reply, e.l7?.http?.url, e.l7?.latency_ns, e.Summary]).toEqual([
      '192.168.1.20',
      true,
      'http://payments.local/pay?card=redacted',
      '2500000',
      'HTTP/1.1 201 3ms (POST http://payments.local/pay?card=redacted)',
    ]);
    const again = eventOf(toHubbleJsonLine(event));
    expect(again.source.ip).toBe('192.168.1.10');
    expect(toHubbleJsonLine(again)).toBe(toHubbleJsonLine(event));
  });

  it('reads a full Hubble line and leaves out what Sextant has no field for', () => {
    const line =
      '{"flow":{"time":"2026-11-25T09:41:02.202450754Z","uuid":"cd75b2ac-8dd3-486b-beca-3d17d9d56cff","emitter":{"name":"Hubble","version":"1.18.3"},' +
      '"verdict":"DROPPED","drop_reason":133,"ethernet":{"source":"62:6b:d0:a4:c5:63","destination":"6e:d0:ea:78:fc:0a"},' +
      '"IP":{"source":"10.0.1.235","destination":"10.0.0.21","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":"60524","destination_port":80,"flags":{"SYN":true}}},' +
      '"source":{"ID":423,"identity":24753,"cluster_name":"c1","namespace":"lab","labels":["k8s:app=gen"],"pod_name":"gen-1","workloads":[{"name":"gen","kind":"CronJob"}]},' +
      '"destination":{"identity":24075,"namespace":"lab","pod_name":"echo-1"},"Type":"L3_L4","node_name":"c1/w1","event_type":{"type":1,"sub_type":133},' +
      '"traffic_direction":"EGRESS","policy_match_type":1,"trace_observation_point":"TO_ENDPOINT","drop_reason_desc":"POLICY_DENIED","is_reply":false,"Summary":"TCP Flags: SYN"},' +
      '"node_name":"c1/w1","time":"2026-11-25T09:41:02.202450754Z"}';
    const f = flowOf(line);
    // Nanoseconds are kept to the microsecond, the store's precision.
    expect(toRfc3339(f.time)).toBe('2026-11-25T09:41:02.202451Z');
    expect(f.source).toEqual({
      ip: '10.0.1.235',
      port: 60524,
      service: 'gen',
      namespace: 'lab',
      podName: 'gen-1',
      labels: ['k8s:app=gen'],
    });
    expect([f.verdict, f.dropReason, f.nodeName]).toEqual(['DROPPED', 'POLICY_DENIED', 'c1/w1']);
  });
});

describe('Hubble jsonpb errors and skipped lines', () => {
  const bad = (line: string, lineNo: number) => {
    try {
      fromHubbleJson(line, lineNo);
    } catch (err) {
      expect(err).toBeInstanceOf(HubbleParseError);
      return (err as Error).message;
    }
    throw new Error('no error');
  };

  it('names the line and the Hubble field', () => {
    expect(bad('{"flow": {', 3)).toMatch(/^line 3: not JSON/);
    expect(bad('[1]', 4)).toBe('line 4: expected a JSON object');
    expect(bad(FIXTURES.tcp.replace('"10.0.0.2"', '"10.0.0.300"'), 7)).toMatch(/^line 7: flow\.IP\.destination: /);
    expect(bad(FIXTURES.tcp.replace('"verdict":"FORWARDED"', '"verdict":"MAYBE"'), 8)).toMatch(/^line 8: flow\.verdict: /);
    expect(bad(FIXTURES.tcp.replaceAll('2026-11-25T12:00:01.123456Z', 'yesterday'), 9)).toBe(
      'line 9: flow.time: not an RFC 3339 time: "yesterday"',
    );
    expect(bad(FIXTURES.tcp.replace('"source_port":43210', '"source_port":-1'), 10)).toMatch(/^line 10: flow\.l4\.TCP\.source_port: /);
    expect(bad(FIXTURES.kafka.replace(/"kafka":\{[^}]*\}/, '"unknown":{}'), 11)).toBe(
      'line 11: flow.l7: an L7 flow needs one of http, dns, kafka',
    );
    expect(bad(FIXTURES.httpResponse.replace('"code":503', '"code":5030'), 12)).toMatch(/^line 12: flow\.l7\.http\.code: /);
  });

  it('skips lines that hold no importable flow', () => {
    expect(
      fromHubbleJson(
        '{"node_status":{"state_change":"NODE_CONNECTED","node_names":["n1"]},"node_name":"n1","time":"2026-11-25T12:00:00Z"}',
      ),
    ).toEqual({ kind: 'skipped', reason: 'node_status line' });
    expect(fromHubbleJson('{"flow":{"time":"2026-11-25T12:00:00Z","ethernet":{"source":"a","destination":"b"}}}')).toEqual({
      kind: 'skipped',
      reason: 'flow without IP addresses',
    });
    expect(fromHubbleJson(FIXTURES.tcp.replace(/"TCP":\{[^}]*\}\}/, '"SCTP":{"source_port":1,"destination_port":2}'))).toEqual({
      kind: 'skipped',
      reason: 'SCTP flow',
    });
  });

  it('accepts a bare flow object (hubble -o json) and derives a stable id when there is no uuid', () => {
    const bare = JSON.stringify({ ...JSON.parse(FIXTURES.udp).flow, uuid: undefined });
    const a = flowOf(bare);
    expect(a.id).toBe(flowOf(bare).id);
    expect(a.id).toBe(stableUuid(bare));
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('converts times the protojson way', () => {
    expect(toRfc3339(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('2026-01-02T03:04:05Z');
    expect(toRfc3339(Date.UTC(2026, 0, 2, 3, 4, 5) + 7)).toBe('2026-01-02T03:04:05.007Z');
    expect(fromRfc3339('2026-01-02T04:04:05.000007+01:00')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5) + 0.007);
    expect(fromRfc3339('2026-01-02')).toBeNaN();
  });
});
