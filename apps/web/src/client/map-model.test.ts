import type { ServiceMap, ServiceMapProtocol } from '@sextant/db';
import { emptyServiceNode } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { edgeRows, searchHits, toCanvasEdge, toCanvasNode, visibleGraph, type MapEdge, type MapNode } from './map-model';

const node = (namespace: string, name: string, over: Partial<MapNode> = {}): MapNode => ({
  ...emptyServiceNode(`${namespace}/${name}`, namespace, name),
  ...over,
});
const proto = (
  protocol: string,
  kind: ServiceMapProtocol['kind'],
  count: number,
  errors: number,
  p95Ns: number | null = 2e6,
): ServiceMapProtocol => ({
  protocol,
  kind,
  count,
  errors,
  errorRatio: count ? errors / count : 0,
  perSecond: count / 3600,
  bytesSent: 0,
  bytesReceived: 0,
  retransmits: 0,
  p50Ns: p95Ns && p95Ns / 2,
  p95Ns,
  p99Ns: p95Ns && p95Ns * 1.5,
});
const edge = (source: string, destination: string, over: Partial<MapEdge> = {}): MapEdge => ({
  id: `${source}->${destination}`,
  source,
  destination,
  protocols: [proto('http', 'requests', 100, 0)],
  protocol: 'http',
  kind: 'requests',
  requests: 100,
  errors: 0,
  errorRatio: 0,
  requestsPerSecond: 100 / 3600,
  connections: 0,
  connectionErrors: 0,
  connectionsPerSecond: 0,
  drops: 0,
  bytesSent: 0,
  bytesReceived: 0,
  retransmits: 0,
  p50Ns: 1e6,
  p95Ns: 2e6,
  p99Ns: 3e6,
  failureRatio: 0,
  ...over,
});

const DATA: ServiceMap = {
  since: 0,
  until: 3_600_000,
  resolutionSeconds: 60,
  nodes: [node('shop', 'web'), node('shop', 'pay'), node('data', 'db'), node('ops', 'idle')],
  edges: [
    edge('shop/web', 'shop/pay'),
    edge('shop/pay', 'data/db', { errors: 5, errorRatio: 0.05, failureRatio: 0.05, protocols: [proto('http', 'requests', 100, 5)] }),
  ],
};

// The incident's pair: 887 HTTP requests (120 of them 5xx) and one TCP connection on the same line.
const INCIDENT = edge('shop/orders-api', 'shop/payments-svc', {
  protocols: [proto('http', 'requests', 887, 120), proto('tcp', 'connections', 1, 0, 1e5)],
  protocol: 'http+tcp',
  requests: 887,
  errors: 120,
  errorRatio: 120 / 887,
  connections: 1,
  failureRatio: 120 / 887,
});

describe('visibleGraph', () => {
  it('keeps everything, unconnected nodes too, without a filter', () => {
    const g = visibleGraph(DATA, false, '');
    expect(g.nodes.map((n) => n.id)).toEqual(['shop/web', 'shop/pay', 'data/db', 'ops/idle']);
    expect(g.edges).toHaveLength(2);
  });
  it('errors only: failing edges (error responses, failed connections or drops) and the nodes they connect', () => {
    const g = visibleGraph(DATA, true, '');
    expect(g.edges.map((e) => e.id)).toEqual(['shop/pay->data/db']);
    expect(g.nodes.map((n) => n.id)).toEqual(['shop/pay', 'data/db']);
    const refused = edge('shop/web', 'data/db', { kind: 'connections', requests: 0, connections: 3, connectionErrors: 3, failureRatio: 1 });
    expect(visibleGraph({ ...DATA, edges: [...DATA.edges, refused] }, true, '').edges.map((e) => e.id)).toContain('shop/web->data/db');
  });
  it('one namespace: edges with either end in it, and their peers in other namespaces', () => {
    const g = visibleGraph(DATA, false, 'data');
    expect(g.edges.map((e) => e.id)).toEqual(['shop/pay->data/db']);
    expect(g.nodes.map((n) => n.id)).toEqual(['shop/pay', 'data/db']);
  });
});

describe('canvas shapes', () => {
  it('a node is as healthy as its failure ratio and grows with requests, else connections', () => {
    expect(toCanvasNode(node('shop', 'pay', { requestsIn: 100, errorsIn: 10, failureRatio: 0.1 })).level).toBe('bad');
    expect(toCanvasNode(node('shop', 'web', { requestsOut: 100, errorsOut: 0 })).level).toBe('ok');
    expect(toCanvasNode(node('ops', 'idle')).r).toBe(5);
    expect(toCanvasNode(node('shop', 'web', { requestsIn: 1e12 })).r).toBe(14);
    expect(toCanvasNode(node('data', 'pg', { connectionsIn: 1e12 })).r).toBe(14);
  });
  it('an edge is coloured by its failure ratio, widens with requests (at most 6 px) and explains every protocol', () => {
    const e = toCanvasEdge(DATA.edges[1] as MapEdge);
    expect(e.level).toBe('bad');
    expect(e.width).toBeCloseTo(1 + Math.log10(101));
    expect(e.dashed).toBe(false);
    expect(toCanvasEdge(edge('a/x', 'b/y', { requests: 1e9 })).width).toBe(6);
    expect(e.tip.split('\n')[0]).toBe('shop/pay → data/db (http)');
    expect(e.tip).toContain('5.0 % errors');
    const tip = toCanvasEdge(INCIDENT).tip.split('\n');
    expect(tip[0]).toBe('shop/orders-api → shop/payments-svc (http+tcp)');
    expect(tip[1]).toMatch(/^http: .* requests · 13\.5 % errors/);
    expect(tip[2]).toMatch(/^tcp: .* connections · 0\.0 % failed/);
  });
  it('an edge of drops only is dashed; a connections-only edge is as wide as its connections', () => {
    const drops = edge('a/x', 'b/y', {
      protocols: [proto('drop', 'drops', 9, 9, null)],
      kind: 'drops',
      requests: 0,
      drops: 9,
      failureRatio: 1,
    });
    expect(toCanvasEdge(drops)).toMatchObject({ dashed: true, level: 'bad', width: 2 });
    const tcp = edge('a/x', 'b/y', { protocols: [proto('tcp', 'connections', 99, 0)], kind: 'connections', requests: 0, connections: 99 });
    expect(toCanvasEdge(tcp).width).toBe(3);
  });
});

describe('edge panel rows', () => {
  it('lists every protocol of the pair, http first with its requests and 5xx, tcp second with its connections', () => {
    const rows = edgeRows(INCIDENT);
    expect(rows.map((r) => [r.protocol, r.unit, r.count, r.errorsLabel, r.errors, r.latency])).toEqual([
      ['http', 'requests', 887, 'errors', 120, 'request'],
      ['tcp', 'connections', 1, 'failed', 0, 'connect'],
    ]);
    expect(rows[0]?.errorRatio).toBeCloseTo(0.135, 3);
    const pair = '--from-service orders-api --from-namespace shop --to-service payments-svc --to-namespace shop';
    expect(rows[0]?.flows).toBe(`${pair} --protocol http`);
    expect(rows[0]?.failingFlows).toBe(`${rows[0]?.flows} --http-status 5+`);
    expect(rows[1]?.flows).toBe(`${pair} --type trace --protocol tcp`);
    expect(rows[1]?.failingFlows).toBeNull();
  });
});

describe('searchHits', () => {
  it('matches ids case-insensitively; an empty search matches nothing', () => {
    expect([...searchHits(DATA.nodes, ' SHOP/')]).toEqual(['shop/web', 'shop/pay']);
    expect(searchHits(DATA.nodes, '  ').size).toBe(0);
  });
});

describe('pairs drawn both ways', () => {
  it('marks A → B and B → A shifted apart so each can be clicked; a one-way pair and a self-loop stay put', async () => {
    const { toCanvasEdges } = await import('./map-model');
    const { hitEdge } = await import('./map-layout');
    const both = toCanvasEdges([edge('a/x', 'b/y'), edge('b/y', 'a/x'), edge('a/x', 'c/z'), edge('a/x', 'a/x')]);
    expect(both.map((e) => e.shifted ?? false)).toEqual([true, true, false, false]);
    const pos = new Map([
      ['a/x', { x: 0, y: 0 }],
      ['b/y', { x: 100, y: 0 }],
      ['c/z', { x: 0, y: 100 }],
    ]);
    // A → B runs to its right (y + 2), B → A to its own right (y − 2): a click picks the line it is on.
    expect(hitEdge(both, pos, { x: 50, y: 2 }, 1.5)?.id).toBe('a/x->b/y');
    expect(hitEdge(both, pos, { x: 50, y: -2 }, 1.5)?.id).toBe('b/y->a/x');
  });
});
