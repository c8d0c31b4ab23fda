import type { FlowRecord } from '@sextant/db';
import { describe, expect, it } from 'vitest';
import { rowView, toCsv, toNdjson } from './flow-rows';

const ep = (service: string, ip: string, port?: number) => ({ ip, service, namespace: 'shop', ...(port ? { port } : {}) });
const http = {
  kind: 'l7',
  event: {
    id: 'e1',
    flowId: 'f1',
    time: Date.UTC(2026, 0, 1),
    nodeName: 'n',
    type: 'RESPONSE',
    protocol: 'http',
    latencyNs: 1500,
    source: ep('web', '10.0.0.1'),
    destination: ep('api', '10.0.0.2', 8080),
    http: { method: 'GET', path: '/x,"y"', code: 503, protocol: 'HTTP/1.1', headers: [] },
  },
} as unknown as FlowRecord;
const refused = {
  kind: 'flow',
  flow: {
    id: 'f2',
    time: Date.UTC(2026, 0, 1, 0, 0, 1),
    verdict: 'FORWARDED',
    l4Protocol: 'TCP',
    closeReason: 'REFUSED',
    source: ep('web', '10.0.0.1'),
    destination: { ip: '10.0.0.9', port: 5432 },
  },
} as unknown as FlowRecord;

describe('flow rows', () => {
  it('summarises L7 exchanges and failed connections, marking errors', () => {
    expect(rowView(http)).toMatchObject({
      source: 'shop/web',
      destination: 'shop/api',
      port: '8080/HTTP',
      l7: 'GET /x,"y" → 503',
      tone: 'bad',
      latencyNs: 1500,
    });
    expect(rowView(refused)).toMatchObject({ destination: '10.0.0.9', port: '5432/TCP', l7: 'refused', tone: 'bad', latencyNs: null });
  });

  it('reads the shared status vocabulary: NXDOMAIN amber, Kafka errors and verdict ERROR red, a client reset plain', () => {
    const l7 = (protocol: string, detail: object) =>
      ({ kind: 'l7', event: { ...(http as { event: object }).event, protocol, http: undefined, ...detail } }) as unknown as FlowRecord;
    const flow = (over: object) => ({ kind: 'flow', flow: { ...(refused as { flow: object }).flow, ...over } }) as unknown as FlowRecord;
    expect(rowView(l7('dns', { dns: { query: 'nope.test', qtypes: ['A'], rcode: 3 } }))).toMatchObject({
      l7: 'DNS nope.test A → NXDOMAIN',
      tone: 'warn',
    });
    expect(rowView(l7('dns', { dns: { query: 'x.test', qtypes: [], rcode: 2 } }))).toMatchObject({
      l7: 'DNS x.test → SERVFAIL',
      tone: 'bad',
    });
    expect(rowView(l7('kafka', { kafka: { apiKey: 'Produce', topic: 'orders', errorCode: 6 } }))).toMatchObject({
      l7: 'Kafka Produce orders → error 6',
      tone: 'bad',
    });
    expect(rowView(flow({ closeReason: 'CLOSED', verdict: 'ERROR' })).tone).toBe('bad');
    expect(rowView(flow({ closeReason: 'CLIENT_RESET' }))).toMatchObject({ l7: 'client reset', tone: 'ok' });
    expect(rowView(flow({ closeReason: 'RESET' }))).toMatchObject({ l7: 'reset', tone: 'bad' });
  });

  it('exports JSON lines that parse back to the records', () => {
    const lines = toNdjson([http, refused])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string });
    expect(lines.map((l) => l.id)).toEqual(['e1', 'f2']);
    expect(toNdjson([])).toBe('');
  });

  it('exports CSV with quoting', () => {
    const csv = toCsv([http, refused]).trim().split('\n');
    expect(csv[0]).toBe('time,kind,id,flow_id,source,destination,port_protocol,l7,verdict,latency_ns');
    expect(csv[1]).toBe('2026-01-01T00:00:00.000Z,l7,e1,f1,shop/web,shop/api,8080/HTTP,"GET /x,""y"" → 503",FORWARDED,1500');
    expect(csv[2]).toBe('2026-01-01T00:00:01.000Z,flow,f2,f2,shop/web,10.0.0.9,5432/TCP,refused,FORWARDED,');
  });
});
