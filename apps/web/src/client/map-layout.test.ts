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
