/**
 * Ingest → query round trip through the real tRPC HTTP path on real PostgreSQL, checked against ground
 * truth computed from the generated traffic itself.
 */
import { generateTraffic } from '@sextant/db/testing';
import {
  encodeBatch,
  type FilterRecord,
  type Flow,
  FlowQueryFilter,
  type FlowQueryFilterInput,
  type L7Event,
  matchesQuery,
} from '@sextant/shared';
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from './root';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './testing/api-harness';

let h: Harness;
const now = Date.now();
const window = { since: now - 40 * 60_000, until: now };
const traffic = generateTraffic({
  seed: 7,
  connections: 1500,
  start: now - 35 * 60_000,
  end: now - 5 * 60_000,
  services: 25,
  namespaces: 3,
});

beforeAll(async () => {
  h = await startHarness();
  const c = h.client(h.collectorToken);
  // Three batches, as a collector would send them.
  const third = Math.ceil(traffic.flows.length / 3);
  for (let i = 0; i < 3; i++) {
    const flows = traffic.flows.slice(i * third, (i + 1) * third);
    const ids = new Set(flows.map((f) => f.id));
    await c.ingest.push.mutate(
      encodeBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), flows, l7: traffic.l7.filter((e) => ids.has(e.flowId)) }),
    );
  }
});
afterAll(async () => h?.close());

async function searchAll(filter: FlowQueryFilterInput, limit = 250): Promise<string[]> {
  const ui = h.client(h.userToken);
  const ids: string[] = [];
  let cursor: string | undefined;
  let lastTime = Infinity;
  for (let page = 0; page < 100; page++) {
    const res = await ui.flows.search.query({ filter, window, limit, cursor });
    for (const item of res.items) {
      const t = item.kind === 'flow' ? item.flow.time : item.event.time;
      expect(t).toBeLessThanOrEqual(lastTime); // newest first, across pages
      lastTime = t;
      ids.push(item.kind === 'flow' ? item.flow.id : item.event.id);
    }
    if (!res.nextCursor) return ids;
    cursor = res.nextCursor;
  }
  throw new Error('pagination did not end');
}

const ids = (items: (Flow | L7Event)[]) => items.map((x) => x.id).sort();
const busiest = (() => {
  const counts = new Map<string, number>();
  for (const f of traffic.flows) counts.set(f.destination.service ?? '', (counts.get(f.destination.service ?? '') ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
})();

describe('flow search', () => {
  it('returns every record once when paging without a filter', async () => {
    const got = await searchAll({}, 333);
    expect(got.length).toBe(traffic.flows.length + traffic.l7.length);
    expect(new Set(got).size).toBe(got.length);
  });

  it('filters by destination service (flows and L7 events)', async () => {
    const expected = ids([...traffic.flows, ...traffic.l7].filter((x) => x.destination.service === busiest));
    expect((await searchAll({ allow: [{ destinationService: [busiest] }] })).sort()).toEqual(expected);
  });

  it('filters by HTTP status prefix 5+ exactly', async () => {
    const expected = ids(traffic.l7.filter((e) => (e.http?.code ?? 0) >= 500));
    expect(expected.length).toBeGreaterThan(10);
    expect((await searchAll({ allow: [{ httpStatusCode: ['5+'] }] })).sort()).toEqual(expected);
  });

  it('filters by source IP, CIDR and either side', async () => {
    const ip = traffic.flows[0]?.source.ip ?? '';
    const bySrc = ids([...traffic.flows, ...traffic.l7].filter((x) => x.source.ip === ip));
    expect((await searchAll({ allow: [{ sourceIp: [ip] }] })).sort()).toEqual(bySrc);
    const cidr = `${ip.split('.').slice(0, 3).join('.')}.0/24`;
    const inCidr = ids([...traffic.flows, ...traffic.l7].filter((x) => x.source.ip.startsWith(`${ip.split('.').slice(0, 3).join('.')}.`)));
    expect((await searchAll({ allow: [{ sourceIp: [cidr] }] })).sort()).toEqual(inCidr);
    // a prefix written with host bits set means its network, as in hubble (PostgreSQL's cidr type would refuse it)
    expect((await searchAll({ allow: [{ sourceIp: [`${ip}/24`] }] })).sort()).toEqual(inCidr);
    const either = ids([...traffic.flows, ...traffic.l7].filter((x) => x.source.ip === ip || x.destination.ip === ip));
    expect((await searchAll({ allow: [{ sourceIp: [ip] }, { destinationIp: [ip] }] })).sort()).toEqual(either);
  });

  it('combines filters: to a service AND 5xx AND method, minus a denied path', async () => {
    const expected = ids(
      traffic.l7.filter(
        (e) =>
          e.destination.service === busiest &&
          (e.http?.code ?? 0) >= 500 &&
          e.http?.method === 'GET' &&
          !/^\/healthz/.test(e.http?.path ?? ''),
      ),
    );
    const got = await searchAll({
      allow: [{ destinationService: [busiest], httpStatusCode: ['5+'], httpMethod: ['get'] }],
      deny: [{ httpPath: ['^/healthz'] }],
    });
    expect(got.sort()).toEqual(expected);
  });

  it('agrees with the pure matcher on every filter shape', async () => {
    const ip = traffic.flows[5]?.destination.ip ?? '';
    const filters: FlowQueryFilterInput[] = [
      { allow: [{ destinationPort: [String(traffic.flows[0]?.destination.port)] }] },
      { allow: [{ httpStatusCode: ['4+'], httpMethod: ['DELETE', 'put'] }] },
      { allow: [{ sourceNamespace: ['ns-1'] }], deny: [{ protocol: ['http'] }] },
      { allow: [{ destinationIp: [`${ip.split('.').slice(0, 2).join('.')}.0.0/16`], eventType: ['L3_L4'] }] },
      { allow: [{ httpPath: ['^/api/(orders|users)/'] }, { tcpFlags: ['RST'] }] },
      {
        allow: [{ sourcePod: [`${traffic.flows[9]?.source.namespace}/${traffic.flows[9]?.source.podName}`] }],
        deny: [{ httpStatusCode: ['2+'] }],
      },
    ];
    const all: FilterRecord[] = [
      ...traffic.flows.map((flow) => ({ kind: 'flow' as const, flow })),
      ...traffic.l7.map((event) => ({ kind: 'l7' as const, event })),
    ];
    for (const f of filters) {
      const expected = all
        .filter((r) => matchesQuery(r, FlowQueryFilter.parse(f)))
        .map((r) => (r.kind === 'flow' ? r.flow.id : r.event.id))
        .sort();
      expect(expected.length, JSON.stringify(f)).toBeGreaterThan(0);
      expect((await searchAll(f)).sort(), JSON.stringify(f)).toEqual(expected);
    }
  });

  it('keeps hostile filter values out of SQL', async () => {
    const ui = h.client(h.userToken);
    const none = await ui.flows.search.query({ filter: { allow: [{ sourceService: ["x' OR '1'='1"] }] }, window });
    expect(none.items).toHaveLength(0);
    for (const filter of [
      { allow: [{ sourceIp: ["1.1.1.1'; DROP TABLE flows; --"] }] },
      { allow: [{ httpPath: ['(unclosed'] }] },
      { allow: [{ sourcePort: ['1 OR 1=1'] }] },
    ]) {
      const err = await ui.flows.search.query({ filter, window }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TRPCClientError);
      expect((err as TRPCClientError<AppRouter>).data?.code).toBe('BAD_REQUEST');
    }
    const still = Number((await h.db.pool.query('SELECT count(*) AS n FROM flows')).rows[0].n);
    expect(still).toBe(traffic.flows.length);
  });

  it('requires a signed-in user', async () => {
    const err = await h
      .client(null)
      .flows.search.query({ window })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((err as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
    const asCollector = await h
      .client(h.collectorToken)
      .flows.search.query({ window })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((asCollector as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
  });
});

function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

describe('service map and time series', () => {
  it('has one edge per (source, destination) listing each protocol with exact counts and p95 within 12.5 %', async () => {
    // One edge per pair (formerly one per protocol); each protocol's figures stay exact on it, http first.
    const map = await h.client(h.userToken).servicemap.get.query({ window });
    const truth = new Map<string, { requests: number; errors: number; latencies: number[] }>();
    const add = (key: string, error: boolean, latency?: number) => {
      const t = truth.get(key) ?? { requests: 0, errors: 0, latencies: [] };
      t.requests++;
      if (error) t.errors++;
      if (latency !== undefined) t.latencies.push(latency);
      truth.set(key, t);
    };
    const key = (x: Flow | L7Event, proto: string) =>
      `${x.source.namespace}/${x.source.service}->${x.destination.namespace}/${x.destination.service}:${proto}`;
    for (const e of traffic.l7) add(key(e, 'http'), (e.http?.code ?? 0) >= 500, e.latencyNs);
    for (const f of traffic.flows) add(key(f, 'tcp'), f.closeReason === 'REFUSED', f.connectLatencyNs);
    const perProtocol = map.edges.flatMap((e) => e.protocols.map((p) => ({ ...p, id: `${e.id}:${p.protocol}` })));
    expect(perProtocol).toHaveLength(truth.size);
    expect(new Set(map.edges.map((e) => e.id)).size).toBe(map.edges.length);
    for (const edge of map.edges) expect(edge.protocols.map((p) => p.protocol).join('+')).toMatch(/^(http\+tcp|http|tcp)$/);
    for (const edge of perProtocol) {
      const t = truth.get(edge.id);
      expect(t, edge.id).toBeDefined();
      expect(edge.count).toBe(t?.requests);
      expect(edge.errors).toBe(t?.errors);
      const exact = exactQuantile(t?.latencies ?? [], 0.95);
      // A percentile is its bucket's upper bound: never below the exact value, at most 12.5 % above it.
      expect(edge.p95Ns ?? 0).toBeGreaterThanOrEqual(exact);
      expect(((edge.p95Ns ?? 0) - exact) / exact).toBeLessThanOrEqual(0.125);
    }
    // Requests on an edge are its HTTP exchanges only, never its connections added.
    for (const edge of map.edges) expect(edge.requests).toBe(truth.get(`${edge.id}:http`)?.requests ?? 0);
    const errorsOnly = await h.client(h.userToken).servicemap.get.query({ window, errorsOnly: true });
    const failing = new Set([...truth].filter(([, t]) => t.errors > 0).map(([k]) => k.slice(0, k.lastIndexOf(':'))));
    expect(errorsOnly.edges.length).toBe(failing.size);
  });

  it('time series sums to the totals and its p95 matches the exact one', async () => {
    const ts = await h.client(h.userToken).dashboards.timeSeries.query({
      window,
      protocols: ['http'],
      service: busiest,
      direction: 'inbound',
      namespace: traffic.l7.find((e) => e.destination.service === busiest)?.destination.namespace,
    });
    const events = traffic.l7.filter((e) => e.destination.service === busiest);
    expect(ts.points.reduce((a, p) => a + (p.requests ?? 0), 0)).toBe(events.length);
    expect(ts.points.reduce((a, p) => a + (p.errors ?? 0), 0)).toBe(events.filter((e) => (e.http?.code ?? 0) >= 500).length);
    const all = await h.client(h.userToken).dashboards.timeSeries.query({ window, stepSeconds: 3600, protocols: ['http'] });
    const latencies = traffic.l7.map((e) => e.latencyNs ?? 0);
    // One hour step with data (the window may straddle two hour steps: the other has none, so it is null).
    const withData = all.points.filter((p) => p.requests !== null);
    expect(withData).toHaveLength(1);
    const p95 = withData[0]?.p95Ns ?? 0;
    expect(p95).toBeGreaterThanOrEqual(exactQuantile(latencies, 0.95));
    expect((p95 - exactQuantile(latencies, 0.95)) / exactQuantile(latencies, 0.95)).toBeLessThanOrEqual(0.125);
    expect(all.points.reduce((a, p) => a + (p.requests ?? 0), 0)).toBe(traffic.l7.length);
  });
});
