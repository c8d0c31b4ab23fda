import { describe, expect, it } from 'vitest';
import { Flow, L7Event, type FlowInput } from './flow';
import { FLOW_IX } from './flow-fields';
import { endpointServiceName, isPrivateIp } from './identity';
import { flowStatusClass, httpStatusClass, isErrorClass, l7StatusClass } from './status';
import { encodeBatch, IngestBatch } from './wire';

const flow = {
  id: '7d0b4f6e-3f7a-4a2b-9c1d-2e3f4a5b6c7d',
  time: 1_764_000_000_000,
  nodeName: 'node-a',
  verdict: 'FORWARDED',
  l4Protocol: 'TCP',
  ipVersion: 4,
  source: { ip: '10.0.0.1', port: 40000, service: 'checkout' },
  destination: { ip: '10.0.0.2', port: 8080, service: 'payments' },
};

describe('flow model', () => {
  it('fills Hubble defaults', () => {
    const f = Flow.parse(flow);
    expect(f).toMatchObject({
      final: true,
      tcpFlags: [],
      trafficDirection: 'TRAFFIC_DIRECTION_UNKNOWN',
      isReply: false,
      bytesSent: 0,
      closeReason: 'NONE',
      localPeer: false,
    });
  });

  it('names the path of bad input', () => {
    const bad = IngestBatch.safeParse(
      encodeBatch({
        batchId: crypto.randomUUID(),
        sentAt: 1,
        flows: [flow as FlowInput, { ...flow, destination: { ip: '10.0.0.300' } } as FlowInput],
      }),
    );
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['flows', 1, FLOW_IX.destinationIp]);
    // Another batch schema (objects as in early development, a future one): one issue, saying what is taken.
    for (const schemaVersion of [1, 2, 3, 4, 7]) {
      const wrongVersion = IngestBatch.safeParse({ schemaVersion, batchId: crypto.randomUUID(), sentAt: 1, flows: [flow, flow] });
      expect(wrongVersion.error?.issues).toHaveLength(1);
      expect(wrongVersion.error?.issues[0]?.path.join('.')).toBe('schemaVersion');
      expect(wrongVersion.error?.issues[0]?.message).toBe(
        `schemaVersion ${schemaVersion} is not supported: this server takes batch schemas 5 and 6 (flows as rows or columns, an endpoint table)`,
      );
    }
    expect(Flow.safeParse({ ...flow, verdict: 'MAYBE' }).error?.issues[0]?.path).toEqual(['verdict']);
    expect(Flow.safeParse({ ...flow, bytesSent: -1 }).success).toBe(false);
  });

  it('requires the details of the L7 protocol an event claims', () => {
    const e = {
      id: crypto.randomUUID(),
      flowId: flow.id,
      time: 1,
      nodeName: 'n',
      protocol: 'dns',
      source: flow.source,
      destination: flow.destination,
    };
    expect(L7Event.safeParse(e).error?.issues[0]?.path).toEqual(['dns']);
    expect(L7Event.safeParse({ ...e, dns: { query: 'example.com' } }).success).toBe(true);
  });
});

describe('status classes', () => {
  it('classifies HTTP, DNS, Kafka and L4 outcomes', () => {
    expect(httpStatusClass(503)).toBe('5xx');
    expect(httpStatusClass(undefined)).toBe('none');
    const base = {
      id: crypto.randomUUID(),
      flowId: flow.id,
      time: 1,
      nodeName: 'n',
      type: 'RESPONSE' as const,
      source: flow.source,
      destination: flow.destination,
    };
    expect(l7StatusClass(L7Event.parse({ ...base, protocol: 'dns', dns: { query: 'x', rcode: 0 } }))).toBe('ok');
    expect(l7StatusClass(L7Event.parse({ ...base, protocol: 'dns', dns: { query: 'x', rcode: 3 } }))).toBe('nxdomain');
    expect(isErrorClass('nxdomain')).toBe(false);
    expect(l7StatusClass(L7Event.parse({ ...base, protocol: 'dns', dns: { query: 'x', rcode: 2 } }))).toBe('error');
    expect(
      l7StatusClass(
        L7Event.parse({ ...base, protocol: 'kafka', kafka: { apiKey: 'Produce', apiVersion: 9, correlationId: 1, errorCode: 6 } }),
      ),
    ).toBe('error');
    expect(flowStatusClass(Flow.parse({ ...flow, closeReason: 'REFUSED' }))).toBe('error');
    expect(flowStatusClass(Flow.parse(flow))).toBe('ok');
    expect(flowStatusClass(Flow.parse({ ...flow, closeReason: 'RESET' }))).toBe('error');
    // A client dropping its own (idle keep-alive) connection is not an error; a verdict ERROR is.
    expect(flowStatusClass(Flow.parse({ ...flow, closeReason: 'CLIENT_RESET' }))).toBe('ok');
    expect(flowStatusClass(Flow.parse({ ...flow, verdict: 'ERROR' }))).toBe('error');
  });
});

describe('endpoint naming', () => {
  it('prefers service, then DNS name, then private IP, else world', () => {
    expect(endpointServiceName({ ip: '10.1.2.3', service: 'api' })).toBe('api');
    expect(endpointServiceName({ ip: '93.184.216.34', names: ['example.com'] })).toBe('example.com');
    expect(endpointServiceName({ ip: '10.1.2.3' })).toBe('10.1.2.3');
    expect(endpointServiceName({ ip: '93.184.216.34' })).toBe('world');
    expect(isPrivateIp('::ffff:192.168.1.1')).toBe(true);
    expect(isPrivateIp('2001:db8::1')).toBe(false);
  });
});
