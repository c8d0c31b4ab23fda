import type { ServiceMap } from '@sextant/db';
import { describe, expect, it } from 'vitest';
import { searchHits, toCanvasEdge, toCanvasNode, visibleGraph, type MapEdge, type MapNode } from './map-model';

const node = (namespace: string, name: string, over: Partial<MapNode> = {}): MapNode => ({ id: `${namespace}/${name}`, name, namespace, requestsIn: 0, requestsOut: 0, errorsIn: 0, errorsOut: 0, ...over });
const edge = (source: string, destination: string, over: Partial<MapEdge> = {}): MapEdge => ({
  id: `${source}->${destination}:http`, source, destination, protocol: 'http', requests: 100, errors: 0, errorRatio: 0, requestsPerSecond: 100 / 3600,
  bytesSent: 0, bytesReceived: 0, retransmits: 0, p50Ns: 1e6, p95Ns: 2e6, p99Ns: 3e6, ...over,
});

const DATA: ServiceMap = {
  since: 0,
  until: 3_600_000,
  resolutionSeconds: 60,
  nodes: [node('shop', 'web'), node('shop', 'pay'), node('data', 'db'), node('ops', 'idle')],
  edges: [edge('shop/web', 'shop/pay'), edge('shop/pay', 'data/db', { errors: 5, errorRatio: 0.05 })],
};

describe('visibleGraph', () => {
  it('keeps everything, unconnected nodes too, without a filter', () => {
    const g = visibleGraph(DATA, false, '');
    expect(g.nodes.map((n) => n.id)).toEqual(['shop/web', 'shop/pay', 'data/db', 'ops/idle']);
    expect(g.edges).toHaveLength(2);
  });
  it('errors only: failing edges and the nodes they connect', () => {
    const g = visibleGraph(DATA, true, '');
    expect(g.edges.map((e) => e.id)).toEqual(['shop/pay->data/db:http']);
    expect(g.nodes.map((n) => n.id)).toEqual(['shop/pay', 'data/db']);
  });
  it('one namespace: edges with either end in it, and their peers in other namespaces', () => {
    const g = visibleGraph(DATA, false, 'data');
    expect(g.edges.map((e) => e.id)).toEqual(['shop/pay->data/db:http']);
    expect(g.nodes.map((n) => n.id)).toEqual(['shop/pay', 'data/db']);
  });
});

describe('canvas shapes', () => {
  it('a node is as healthy as its inbound calls (outbound for a pure client) and grows with traffic', () => {
    expect(toCanvasNode(node('shop', 'pay', { requestsIn: 100, errorsIn: 10 })).level).toBe('bad');
    expect(toCanvasNode(node('shop', 'web', { requestsOut: 100, errorsOut: 0 })).level).toBe('ok');
    expect(toCanvasNode(node('ops', 'idle')).r).toBe(5);
    expect(toCanvasNode(node('shop', 'web', { requestsIn: 1e12 })).r).toBe(14);
  });
  it('an edge is coloured by its error ratio, widens with requests (at most 6 px) and explains itself', () => {
    const e = toCanvasEdge(DATA.edges[1] as MapEdge);
    expect(e.level).toBe('bad');
    expect(e.width).toBeCloseTo(1 + Math.log10(101));
    expect(toCanvasEdge(edge('a/x', 'b/y', { requests: 1e9 })).width).toBe(6);
    expect(e.tip.split('\n')[0]).toBe('shop/pay → data/db (http)');
    expect(e.tip).toContain('5.0 % errors');
  });
});

describe('searchHits', () => {
  it('matches ids case-insensitively; an empty search matches nothing', () => {
    expect([...searchHits(DATA.nodes, ' SHOP/')]).toEqual(['shop/web', 'shop/pay']);
    expect(searchHits(DATA.nodes, '  ').size).toBe(0);
  });
});
