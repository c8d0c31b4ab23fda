import { describe, expect, it } from 'vitest';
import { ENDPOINT_IDENTITY, decodeL7Aggregates, l7AggregateStatusClass, type L7AggregateInput } from './wire-compact';
import { BATCH_LIMITS, encodeBatch, IngestBatch, WIRE_SCHEMA_VERSION } from './wire';

const now = Date.now();
const clientIdentity = { service: 'checkout', namespace: 'shop', process: { pid: 7, name: 'node' } };
const agg = (over: Partial<L7AggregateInput> = {}): L7AggregateInput => ({
  time: now,
  windowSeconds: 10,
  protocol: 'http',
  reporter: 'client',
  source: { ip: '10.0.0.1', [ENDPOINT_IDENTITY]: clientIdentity } as L7AggregateInput['source'],
  destination: { ip: '10.0.0.2', port: 8080, service: 'cart' },
  method: 'GET',
  code: 200,
  count: 1000,
  latencySumNs: 2_000_000_000,
  idx: [100, 101],
  cnt: [600, 400],
  ...over,
});

const parse = (aggs: L7AggregateInput[]) =>
  IngestBatch.safeParse(encodeBatch({ batchId: crypto.randomUUID(), nodeName: 'n', l7Aggregates: aggs }));

describe('kernel L7 aggregates on the wire (batch schema 4)', () => {
  it('encodes endpoints into the batch table, one identity per object, and decodes back', () => {
    const b = encodeBatch({
      batchId: crypto.randomUUID(),
      nodeName: 'n',
      l7Aggregates: [agg(), agg({ code: 503, count: 7, cnt: [4, 3], requestBytes: 7 * 90, responseBytes: 7 * 1200, tls: 'node' })],
    });
    expect(b.schemaVersion).toBe(WIRE_SCHEMA_VERSION);
    expect(b.schemaVersion).toBe(WIRE_SCHEMA_VERSION);
    expect(b.endpoints).toEqual([clientIdentity, { service: 'cart' }]);
    expect(b.l7Aggregates?.[0]?.source).toEqual(['10.0.0.1', null, 0]);
    expect(b.l7Aggregates?.[1]?.destination).toEqual(['10.0.0.2', 8080, 1]);
    const r = IngestBatch.parse(b);
    const [a0, a1] = decodeL7Aggregates(r.l7Aggregates, r.endpoints);
    expect(a0).toMatchObject({ count: 1000, code: 200, method: 'GET', reporter: 'client', idx: [100, 101], cnt: [600, 400] });
    expect(a0?.source).toEqual({ ip: '10.0.0.1', ...clientIdentity });
    expect(a1?.destination).toEqual({ ip: '10.0.0.2', port: 8080, service: 'cart' });
    // bytes and TLS source: optional (collectors before 0.2 send neither)
    expect([a0?.requestBytes, a0?.responseBytes, a0?.tls]).toEqual([undefined, undefined, undefined]);
    expect([a1?.requestBytes, a1?.responseBytes, a1?.tls]).toEqual([630, 8400, 'node']);
  });

  it('classes an aggregate by the protocol registry, as a record with that code', () => {
    expect(l7AggregateStatusClass({ protocol: 'http', method: 'GET', code: 200 })).toBe('2xx');
    expect(l7AggregateStatusClass({ protocol: 'http', method: 'GET', code: 404 })).toBe('4xx');
    expect(l7AggregateStatusClass({ protocol: 'http', method: 'GET', code: 503 })).toBe('5xx');
  });

  it('refuses bad rows with the first one’s path', () => {
    const cases: [L7AggregateInput, (string | number)[]][] = [
      [agg({ count: -1 }), ['l7Aggregates', 0, 'count']],
      [agg({ idx: [1, 2, 3] }), ['l7Aggregates', 0, 'cnt']],
      [agg({ method: 'GE\u0000T' }), ['l7Aggregates', 0, 'method']],
      [agg({ method: 'GET /' }), ['l7Aggregates', 0, 'method']],
      [agg({ idx: [336], cnt: [1] }), ['l7Aggregates', 0, 'idx', 0]],
      [agg({ code: 1000 }), ['l7Aggregates', 0, 'code']],
      [agg({ reporter: 'proxy' as 'client' }), ['l7Aggregates', 0, 'reporter']],
      [agg({ protocol: 'dns' as 'http' }), ['l7Aggregates', 0, 'protocol']],
      [agg({ windowSeconds: 0 }), ['l7Aggregates', 0, 'windowSeconds']],
      [agg({ requestBytes: -1 }), ['l7Aggregates', 0, 'requestBytes']],
      [agg({ responseBytes: 1.5 }), ['l7Aggregates', 0, 'responseBytes']],
      [agg({ tls: 'gnutls' as 'node' }), ['l7Aggregates', 0, 'tls']],
    ];
    for (const [bad, path] of cases) {
      const r = parse([agg(), bad]);
      expect(r.success, JSON.stringify(path)).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual([path[0], 1, ...path.slice(2)]);
    }
  });

  it('refuses a ref past the endpoint table and more rows than the limit', () => {
    const b = encodeBatch({ batchId: crypto.randomUUID(), nodeName: 'n', l7Aggregates: [agg()] });
    b.l7Aggregates![0]!.destination = ['10.0.0.2', 8080, 5];
    const r = IngestBatch.safeParse(b);
    expect(r.error?.issues.map((i) => i.path)).toEqual([['l7Aggregates', 0, 'destination', 2]]);
    const many = encodeBatch({ batchId: crypto.randomUUID(), nodeName: 'n', l7Aggregates: [agg()] });
    many.l7Aggregates = Array.from({ length: BATCH_LIMITS.maxL7Aggregates + 1 }, () => many.l7Aggregates![0]!);
    expect(IngestBatch.safeParse(many).error?.issues[0]?.path).toEqual(['l7Aggregates']);
  });

  it('carries sampling on L7 rows and refuses an unknown one', () => {
    const event = {
      id: crypto.randomUUID(),
      flowId: crypto.randomUUID(),
      time: now,
      nodeName: 'n',
      protocol: 'http' as const,
      source: { ip: '10.0.0.1' },
      destination: { ip: '10.0.0.2' },
      http: { method: 'GET', url: '/', path: '/', code: 503 },
    };
    const ok = IngestBatch.parse(encodeBatch({ batchId: crypto.randomUUID(), l7: [{ ...event, sampling: 'error' }, event] }));
    expect(ok.l7.map((e) => e.sampling)).toEqual(['error', undefined]);
    const bad = IngestBatch.safeParse(encodeBatch({ batchId: crypto.randomUUID(), l7: [{ ...event, sampling: 'maybe' as 'error' }] }));
    expect(bad.error?.issues[0]?.path).toEqual(['l7', 0, 'sampling']);
  });
});
