import { describe, expect, it } from 'vitest';
import { layout } from './map-layout';

const ids = Array.from({ length: 30 }, (_, i) => `svc-${i}`);
const links = ids.slice(1).map((id, i) => ({ source: ids[Math.floor(i / 3)] ?? 'svc-0', target: id }));

describe('map layout', () => {
  it('places every node at a finite, distinct position', () => {
    const p = layout(ids, links);
    expect(p.size).toBe(ids.length);
    const keys = new Set([...p.values()].map((v) => `${Math.round(v.x)}:${Math.round(v.y)}`));
    expect(keys.size).toBe(ids.length);
    for (const v of p.values()) expect(Number.isFinite(v.x) && Number.isFinite(v.y)).toBe(true);
  });

  it('keeps known nodes nearly still on refresh and puts a new node near its neighbour', () => {
    const first = layout(ids, links);
    const second = layout([...ids, 'new-svc'], [...links, { source: 'svc-5', target: 'new-svc' }], first);
    let maxMove = 0;
    for (const id of ids) {
      const a = first.get(id);
      const b = second.get(id);
      if (a && b) maxMove = Math.max(maxMove, Math.hypot(a.x - b.x, a.y - b.y));
    }
    expect(maxMove).toBeLessThan(40);
    const n = second.get('new-svc');
    const s5 = second.get('svc-5');
    expect(n && s5 && Math.hypot(n.x - s5.x, n.y - s5.y)).toBeLessThan(150);
  });
});

describe('map view maths', () => {
  it('groups cluster around distinct centres', async () => {
    const { layoutWith } = await import('./map-layout');
    const nodes = Array.from({ length: 40 }, (_, i) => `${i % 2 ? 'shop' : 'db'}/s${i}`);
    const p = layoutWith(nodes, [], { groupOf: (id) => id.split('/')[0] ?? '' });
    const mean = (ns: string) => {
      const ps = nodes.filter((n) => n.startsWith(ns)).map((n) => p.get(n) ?? { x: 0, y: 0 });
      return { x: ps.reduce((a, b) => a + b.x, 0) / ps.length, y: ps.reduce((a, b) => a + b.y, 0) / ps.length };
    };
    const a = mean('shop');
    const b = mean('db');
    expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeGreaterThan(100);
  });

  it('fits a view, maps screen points back to the world and hits nodes and edges', async () => {
    const { fitView, toWorld, hitNode, hitEdge, segmentDistance, healthLevel } = await import('./map-layout');
    const pos = new Map([
      ['a', { x: -100, y: 0 }],
      ['b', { x: 100, y: 0 }],
      ['c', { x: 0, y: 50 }],
    ]);
    const v = fitView(pos, 500, 300, 50);
    expect(v.k).toBeCloseTo(2, 5); // 400 px for 200 world units
    expect(toWorld(v, 250, 150)).toEqual({ x: 0, y: 25 });
    expect(hitNode(pos, { x: 98, y: 3 }, 8)).toBe('b');
    expect(hitNode(pos, { x: 50, y: 50 }, 8)).toBeNull();
    const edges = [
      { source: 'a', destination: 'b', id: 'ab' },
      { source: 'a', destination: 'c', id: 'ac' },
    ];
    expect(hitEdge(edges, pos, { x: 10, y: 2 }, 5)?.id).toBe('ab');
    expect(hitEdge(edges, pos, { x: 10, y: 40 }, 5)).toBeNull();
    // A self-loop is hit on its circle above the node, not on the node itself.
    const loop = [{ id: 'aa', source: 'a', destination: 'a' }];
    expect(hitEdge(loop, pos, { x: pos.get('a')!.x, y: pos.get('a')!.y - 25 }, 3)?.id).toBe('aa');
    expect(hitEdge(loop, pos, { x: pos.get('a')!.x + 40, y: pos.get('a')!.y }, 3)).toBeNull();
    expect(segmentDistance({ x: 0, y: 10 }, { x: -1, y: 0 }, { x: 1, y: 0 })).toBe(10);
    expect([healthLevel(0), healthLevel(0.01), healthLevel(0.2)]).toEqual(['ok', 'warn', 'bad']);
  });

  it('lays out 1000 nodes and 3000 edges in well under two seconds', async () => {
    const { layoutWith } = await import('./map-layout');
    const ids = Array.from({ length: 1000 }, (_, i) => `ns${i % 10}/svc-${i}`);
    const links = Array.from({ length: 3000 }, (_, i) => ({
      source: ids[(i * 7) % 1000] as string,
      target: ids[(i * 13 + 1) % 1000] as string,
    }));
    const t = performance.now();
    const p = layoutWith(ids, links, { groupOf: (id) => id.split('/')[0] ?? '' });
    expect(performance.now() - t).toBeLessThan(1500);
    expect(p.size).toBe(1000);
  });
});
