import { describe, expect, it } from 'vitest';
import { Flow, L7Event } from './flow';
import { SANITIZED_LABEL, sanitizeText } from './sanitize';
import { CollectorHealthReport, IngestBatch } from './wire';
import { BatchEncoder, decodeFlowRows, decodeL7Rows, sanitizedRecords } from './wire-compact';

const flow = (over: Record<string, unknown> = {}) => ({
  id: crypto.randomUUID(),
  time: 1_700_000_000_000,
  nodeName: 'n',
  verdict: 'FORWARDED',
  l4Protocol: 'TCP',
  ipVersion: 4,
  source: { ip: '10.0.0.1', port: 1234, process: { pid: 42, name: 'curl' } },
  destination: { ip: '10.0.0.2', port: 80 },
  ...over,
});

describe('sanitizeText', () => {
  it('replaces NUL and unpaired surrogates one for one, keeps pairs and plain text as they are', () => {
    expect(sanitizeText('GET /x\u0000y')).toBe('GET /x\uFFFDy');
    expect(sanitizeText('a\uD800b\uDC00c')).toBe('a\uFFFDb\uFFFDc');
    expect(sanitizeText('end\uD83D')).toBe('end\uFFFD');
    const emoji = 'ok \uD83D\uDE00 ok';
    expect(sanitizeText(emoji)).toBe(emoji);
    expect(sanitizeText('plain')).toBe('plain');
  });
});

describe('sanitizing schemas', () => {
  it('mark a flow whose text held poison on its source endpoint, and only that flow', () => {
    const bad = Flow.parse(flow({ source: { ip: '10.0.0.1', process: { pid: 1, name: 'x\uD800' }, labels: ['app=a'] } }));
    expect(bad.source.process?.name).toBe('x\uFFFD');
    expect(bad.source.labels).toEqual(['app=a', SANITIZED_LABEL]);
    expect(Flow.parse(flow()).source.labels).toBeUndefined();
  });

  it('mark L7 events and health reports; length limits count the replaced text the same', () => {
    const e = L7Event.parse({
      id: crypto.randomUUID(),
      flowId: crypto.randomUUID(),
      time: 1,
      nodeName: 'n',
      protocol: 'http',
      source: { ip: '10.0.0.1' },
      destination: { ip: '10.0.0.2' },
      http: { method: 'GET', url: '/x\u0000y', path: '/x\u0000y' },
    });
    expect(e.http?.url).toBe('/x\uFFFDy');
    expect(e.source.labels).toEqual([SANITIZED_LABEL]);
    const h = CollectorHealthReport.parse({
      time: 1,
      version: '1',
      kernel: 'k',
      hostname: 'h\u0000',
      eventsPerSecond: 0,
      lostEvents: 0,
      details: { 'k\uDC00': 'v' },
    });
    expect(h).toMatchObject({ hostname: 'h\uFFFD', sanitized: true, details: { 'k\uFFFD': 'v' } });
    expect(Flow.safeParse(flow({ nodeName: '\u0000'.repeat(254) })).success).toBe(false);
  });

  it('mark flow rows and L7 events built on a poisoned endpoint identity, not the others', () => {
    const enc = new BatchEncoder('n');
    enc.addFlow(flow({ source: { ip: '10.0.0.1', process: { pid: 7, name: 'evil\u0000' } } }) as never);
    enc.addFlow(flow() as never);
    const l7 = [
      enc.l7({
        id: crypto.randomUUID(),
        flowId: crypto.randomUUID(),
        time: 1,
        nodeName: 'n',
        protocol: 'dns',
        source: { ip: '10.0.0.1', process: { pid: 7, name: 'evil\u0000' } },
        destination: { ip: '10.0.0.2' },
        dns: { query: 'a.example' },
      }),
    ];
    const b = IngestBatch.parse({
      schemaVersion: 5,
      batchId: crypto.randomUUID(),
      sentAt: 1,
      nodeName: 'n',
      endpoints: enc.endpoints,
      flows: enc.rows,
      l7,
    });
    const flows = decodeFlowRows(b.flows, b.endpoints, b.nodeName);
    expect(flows.map((f) => f.source.labels ?? [])).toEqual([[SANITIZED_LABEL], []]);
    expect(flows[0]?.source.process?.name).toBe('evil\uFFFD');
    expect(decodeL7Rows(b.l7, b.endpoints)[0]?.source.labels).toEqual([SANITIZED_LABEL]);
    expect(sanitizedRecords(b)).toBe(2);
  });

  it('bound numbers to what the columns hold', () => {
    expect(Flow.safeParse(flow({ source: { ip: '10.0.0.1', process: { pid: 2 ** 40, name: 'x' } } })).success).toBe(false);
    expect(Flow.safeParse(flow({ time: Date.UTC(10000, 0, 1) })).success).toBe(false);
    expect(Flow.safeParse(flow({ time: 8.64e15 })).success).toBe(false);
    expect(Flow.safeParse(flow({ time: Date.UTC(9999, 11, 31) })).success).toBe(true);
    expect(
      CollectorHealthReport.safeParse({ time: 1e20, version: '1', kernel: 'k', hostname: 'h', eventsPerSecond: 0, lostEvents: 0 }).success,
    ).toBe(false);
  });
});
