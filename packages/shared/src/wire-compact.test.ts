import { describe, expect, it } from 'vitest';
import { Flow, L7Event, type Endpoint, type FlowInput, type L7EventInput } from './flow';
import { FLOW_FIELDS, FLOW_IX } from './flow-fields';
import {
  BatchEncoder,
  decodeFlowRows,
  decodeL7Rows,
  ENDPOINT_IDENTITY,
  encodeFlowRows,
  FlowRow,
  type EndpointIdentity,
} from './wire-compact';
import { IngestBatch, type IngestBatchInput } from './wire';

// As a collector builds them: one identity object per process, attached to every endpoint of that process.
function tagged(identity: EndpointIdentity, ip: string, port: number): Endpoint {
  return { ip, port, ...identity, [ENDPOINT_IDENTITY]: identity } as Endpoint;
}
const wrk: EndpointIdentity = {
  hostName: 'node-a',
  process: { pid: 4242, name: 'wrk', exe: '/usr/bin/wrk' },
  cgroupId: '9001',
  cgroupPath: '/user.slice/session-3.scope',
  service: 'wrk',
};
const nginx: EndpointIdentity = {
  hostName: 'node-a',
  process: { pid: 77, name: 'nginx', exe: '/usr/sbin/nginx' },
  cgroupId: '812',
  cgroupPath: '/system.slice/nginx.service',
  service: 'nginx',
  workloads: [{ name: 'nginx.service', kind: 'SystemdUnit' }],
};

function flows(n: number): FlowInput[] {
  const out: FlowInput[] = [];
  for (let i = 0; i < n; i++) {
    const t = 1_764_000_000_000 + i * 0.5;
    const client = tagged(wrk, '127.0.0.1', 30_000 + i);
    const server = tagged(nginx, '127.0.0.1', 8080);
    const base: Omit<FlowInput, 'id' | 'source' | 'destination'> = {
      time: t,
      endTime: t + 0.25,
      nodeName: 'node-a',
      verdict: 'FORWARDED',
      l4Protocol: 'TCP',
      ipVersion: 4,
      tcpFlags: ['SYN', 'ACK', 'FIN'],
      bytesSent: 120,
      bytesReceived: 853,
      packetsSent: 6,
      packetsReceived: 5,
      srttUs: 40 + i,
      connectLatencyNs: 51_000,
      closeReason: 'CLOSED',
      localPeer: true,
    };
    out.push({ ...base, id: crypto.randomUUID(), source: client, destination: server, trafficDirection: 'EGRESS' });
    out.push({
      ...base,
      id: crypto.randomUUID(),
      source: client,
      destination: server,
      trafficDirection: 'INGRESS',
      bytesSent: 853,
      bytesReceived: 120,
    });
  }
  // The rest of what flows carry: untagged identities (interned by content), no identity at all, another node,
  // drops with a reason and no port, IPv6, an open connection's interim report, every TCP flag.
  out.push({
    id: crypto.randomUUID(),
    time: 1,
    nodeName: 'node-b',
    verdict: 'DROPPED',
    dropReason: 'NETFILTER_DROP',
    l4Protocol: 'ICMPv6',
    ipVersion: 6,
    source: { ip: 'fd00::1' },
    destination: { ip: '2001:db8::2', names: ['example.org'] },
    packetsSent: 3,
  });
  out.push({
    id: crypto.randomUUID(),
    time: 2,
    nodeName: 'node-a',
    verdict: 'FORWARDED',
    l4Protocol: 'TCP',
    ipVersion: 4,
    final: false,
    source: { ip: '10.0.0.1', port: 1, service: 'checkout', namespace: 'shop' },
    destination: { ip: '93.184.216.34', port: 443, names: ['example.org'] },
    tcpFlags: ['SYN', 'ACK', 'FIN', 'RST', 'PSH', 'URG', 'ECE', 'CWR', 'NS'],
    closeReason: 'OPEN',
    isReply: true,
    retransmits: 2,
  });
  out.push({
    id: crypto.randomUUID(),
    time: 3,
    nodeName: 'node-a',
    verdict: 'FORWARDED',
    l4Protocol: 'UDP',
    ipVersion: 4,
    source: { ip: '10.0.0.1', port: 2, service: 'checkout', namespace: 'shop' },
    destination: { ip: '10.0.0.53', port: 53 },
  });
  return out;
}

function v2(f: FlowInput[]): IngestBatchInput {
  return { schemaVersion: 5, batchId: crypto.randomUUID(), sentAt: 5, nodeName: 'node-a', ...encodeFlowRows(f, 'node-a') };
}

const parseFlows = (b: IngestBatchInput) => {
  const p = IngestBatch.parse(JSON.parse(JSON.stringify(b)));
  return decodeFlowRows(p.flows, p.endpoints, p.nodeName);
};

describe('flows as rows', () => {
  it('decode into exactly what the same flows parse to as objects', () => {
    const f = flows(50);
    const fromV2 = parseFlows(v2(f));
    expect(fromV2).toEqual(f.map((x) => Flow.parse(x)));
    expect(fromV2).toHaveLength(103);
    expect(fromV2[0]?.source).toEqual({ ip: '127.0.0.1', port: 30_000, ...wrk });
    expect(fromV2[100]).toMatchObject({
      nodeName: 'node-b',
      dropReason: 'NETFILTER_DROP',
      source: { ip: 'fd00::1' },
      destination: { ip: '2001:db8::2', names: ['example.org'] },
    });
    expect(fromV2[100]?.source.port).toBeUndefined();
  });

  it('sends each identity once per batch, interned by reference or by content', () => {
    const compact = v2(flows(50));
    // wrk, nginx, {names: example.org} (twice, equal content), checkout: 4 identities for 103 flows
    expect(compact.endpoints).toEqual([wrk, nginx, { names: ['example.org'] }, { service: 'checkout', namespace: 'shop' }]);
    const row = compact.flows?.[0] as unknown[];
    expect(row).toHaveLength(FLOW_FIELDS.length);
    expect(row[FLOW_IX.sourceRef]).toBe(0);
    expect(row[FLOW_IX.nodeName]).toBeNull();
    expect(row[FLOW_IX.tcpFlags]).toBe(0b111);
    // What it is for: a fraction of the bytes of the same flows as objects.
    const f = flows(500);
    const v1Bytes = JSON.stringify({ flows: f }).length;
    const v2Bytes = JSON.stringify(v2(f)).length;
    expect(v2Bytes / v1Bytes).toBeLessThan(0.35);
  });

  it('names the path of bad rows and refs, and stores nothing of such a batch', () => {
    const compact = v2(flows(2));
    const rows = compact.flows as unknown[][];
    const badIp = structuredClone(compact);
    (badIp.flows as unknown[][])[1]![FLOW_IX.destinationIp] = '10.0.0.300';
    expect(IngestBatch.safeParse(badIp).error?.issues[0]?.path).toEqual(['flows', 1, FLOW_IX.destinationIp]);
    const badRef = { ...compact, flows: [rows[0], rows[1]!.map((v, i) => (i === FLOW_IX.sourceRef ? 9 : v))] };
    const err = IngestBatch.safeParse(badRef).error?.issues[0];
    expect(err?.path).toEqual(['flows', 1, FLOW_IX.sourceRef]);
    expect(err?.message).toMatch(/sourceRef 9 is not an index of endpoints \(4 given\)/);
    expect(IngestBatch.safeParse({ ...compact, flows: [rows[0]!.slice(0, 20)] }).success).toBe(false);
    expect(FlowRow.safeParse(rows[0]).success).toBe(true);
    expect(IngestBatch.safeParse({ ...compact, nodeName: undefined }).error?.issues[0]?.path).toEqual(['nodeName']);
  });
});

// HTTP exchanges between the same two processes, as a collector builds them, a DNS one to a remote resolver.
function l7(n: number): L7EventInput[] {
  const out: L7EventInput[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      id: crypto.randomUUID(),
      flowId: crypto.randomUUID(),
      time: 1_764_000_000_000 + i,
      nodeName: 'node-a',
      protocol: 'http',
      latencyNs: 1_000 + i,
      source: tagged(wrk, '127.0.0.1', 30_000 + i),
      destination: tagged(nginx, '127.0.0.1', 8080),
      http: {
        method: 'GET',
        url: `http://127.0.0.1:8080/item/${i}`,
        path: `/item/${i}`,
        code: 200,
        headers: [{ key: 'user-agent', value: 'wrk' }],
      },
    });
  }
  out.push({
    id: crypto.randomUUID(),
    flowId: crypto.randomUUID(),
    time: 5,
    nodeName: 'node-b',
    type: 'REQUEST',
    protocol: 'dns',
    source: { ip: 'fd00::1', port: 5353 },
    destination: { ip: '2001:db8::53', port: 53, names: ['resolver.example'] },
    dns: { query: 'example.org', qtypes: ['AAAA'] },
  });
  return out;
}

function v3(f: FlowInput[], events: L7EventInput[]): IngestBatchInput {
  const enc = new BatchEncoder('node-a');
  for (const x of f) enc.addFlow(x);
  const compactL7 = events.map((e) => enc.l7(e));
  return {
    schemaVersion: 5,
    batchId: crypto.randomUUID(),
    sentAt: 5,
    nodeName: 'node-a',
    endpoints: enc.endpoints,
    flows: enc.rows,
    l7: compactL7,
  };
}

describe('L7 events with endpoint refs', () => {
  it('decode into exactly what the same flows and L7 events parse to as objects, sharing one endpoint table', () => {
    const [f, events] = [flows(20), l7(40)];
    const compact = v3(f, events);
    const parsed = IngestBatch.parse(JSON.parse(JSON.stringify(compact)));
    expect(decodeFlowRows(parsed.flows, parsed.endpoints, parsed.nodeName)).toEqual(f.map((x) => Flow.parse(x)));
    const fromObjects = events.map((e) => L7Event.parse(e));
    expect(decodeL7Rows(parsed.l7, parsed.endpoints)).toEqual(fromObjects);
    // wrk, nginx, example.org, checkout from the flows; the resolver's name from the DNS event
    expect(compact.endpoints).toHaveLength(5);
    expect(compact.l7?.[0]?.source).toEqual(['127.0.0.1', 30_000, 0]);
    expect(compact.l7?.[40]?.source).toEqual(['fd00::1', 5353, null]);
    expect(fromObjects[0]?.destination).toEqual({ ip: '127.0.0.1', port: 8080, ...nginx });
    // What it is for: the L7 events in a fraction of their bytes as objects.
    expect(JSON.stringify(compact.l7).length / JSON.stringify(events).length).toBeLessThan(0.5);
  });

  it('names the path of a bad L7 endpoint ref', () => {
    const compact = v3(flows(1), l7(2));
    const bad = structuredClone(compact);
    bad.l7![1]!.destination = ['127.0.0.1', 8080, 7];
    const err = IngestBatch.safeParse(bad).error?.issues[0];
    expect(err?.path).toEqual(['l7', 1, 'destination', 2]);
    expect(err?.message).toMatch(/destination ref 7 is not an index of endpoints \(\d given\)/);
    const noDetails = structuredClone(compact);
    delete noDetails.l7![0]!.http;
    expect(IngestBatch.safeParse(noDetails).error?.issues[0]?.path).toEqual(['l7', 0, 'http']);
  });
});

describe('FLOW_FIELDS, the one row definition', () => {
  it('puts every field where FLOW_IX says, so a swapped field cannot pass (distinct values for every counter)', () => {
    const f: FlowInput = {
      id: crypto.randomUUID(),
      time: 1_764_000_000_001.5,
      endTime: 1_764_000_000_002.25,
      nodeName: 'node-z',
      final: false,
      verdict: 'AUDIT',
      dropReason: 'POLICY',
      l4Protocol: 'UDP',
      ipVersion: 6,
      source: { ip: 'fd00::1', port: 1111, service: 'a' },
      destination: { ip: 'fd00::2', port: 2222, service: 'b' },
      tcpFlags: ['SYN', 'PSH'],
      trafficDirection: 'INGRESS',
      isReply: true,
      bytesSent: 101,
      bytesReceived: 202,
      packetsSent: 303,
      packetsReceived: 404,
      retransmits: 505,
      srttUs: 606,
      connectLatencyNs: 707,
      closeReason: 'CLIENT_RESET',
      localPeer: true,
      l7Coverage: 'tls-undecoded',
    };
    const b = IngestBatch.parse(JSON.parse(JSON.stringify(v2([f]))));
    const row = b.flows[0]!;
    expect(row[FLOW_IX.bytesSent]).toBe(101);
    expect(row[FLOW_IX.bytesReceived]).toBe(202);
    expect(row[FLOW_IX.packetsSent]).toBe(303);
    expect(row[FLOW_IX.packetsReceived]).toBe(404);
    expect(row[FLOW_IX.retransmits]).toBe(505);
    expect(row[FLOW_IX.srttUs]).toBe(606);
    expect(row[FLOW_IX.connectLatencyNs]).toBe(707);
    expect([row[FLOW_IX.sourcePort], row[FLOW_IX.destinationPort]]).toEqual([1111, 2222]);
    expect(decodeFlowRows(b.flows, b.endpoints, b.nodeName)[0]).toEqual(Flow.parse(f));
    // Every field by its name: plain fields hold the object's value at their index.
    for (const d of FLOW_FIELDS)
      if (!('kind' in d) || d.kind === 'time')
        expect([d.name, row[FLOW_IX[d.name]]]).toEqual([d.name, (f as Record<string, unknown>)[d.name]]);
  });

  it('names each field and column once, in the row order', () => {
    expect(new Set(FLOW_FIELDS.map((d) => d.name)).size).toBe(FLOW_FIELDS.length);
    expect(new Set(FLOW_FIELDS.map((d) => d.column)).size).toBe(FLOW_FIELDS.length);
    FLOW_FIELDS.forEach((d, i) => expect(FLOW_IX[d.name]).toBe(i));
  });
});
