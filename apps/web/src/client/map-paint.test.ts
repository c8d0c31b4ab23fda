import { describe, expect, it } from 'vitest';
import type { Positions, View } from './map-layout';
import {
  edgeBuckets,
  focusOf,
  groupLabels,
  paintMap,
  visibleBounds,
  type CanvasEdge,
  type CanvasNode,
  type MapFrame,
  type MapScene,
  type PaintContext,
  type Palette,
} from './map-paint';

const PALETTE: Palette = { ok: 'green', warn: 'orange', bad: 'red', text: 'black', muted: 'grey', accent: 'blue', panel: 'white' };

interface Op {
  op: string;
  args: unknown[];
  fillStyle: unknown;
  strokeStyle: unknown;
  globalAlpha: number;
  lineWidth: number;
  textAlign: string;
}

/** A 2D context that records every call with the drawing state at that moment. */
class Recorder {
  fillStyle: PaintContext['fillStyle'] = '';
  strokeStyle: PaintContext['strokeStyle'] = '';
  globalAlpha = 1;
  lineWidth = 1;
  lineCap: PaintContext['lineCap'] = 'butt';
  font = '';
  textBaseline: PaintContext['textBaseline'] = 'alphabetic';
  textAlign: PaintContext['textAlign'] = 'start';
  ops: Op[] = [];
  private rec(op: string, args: unknown[]) {
    this.ops.push({
      op,
      args,
      fillStyle: this.fillStyle,
      strokeStyle: this.strokeStyle,
      globalAlpha: this.globalAlpha,
      lineWidth: this.lineWidth,
      textAlign: this.textAlign,
    });
  }
  setTransform(...args: unknown[]) {
    this.rec('setTransform', args);
  }
  fillRect(...args: unknown[]) {
    this.rec('fillRect', args);
  }
  beginPath() {
    this.rec('beginPath', []);
  }
  moveTo(...args: unknown[]) {
    this.rec('moveTo', args);
  }
  lineTo(...args: unknown[]) {
    this.rec('lineTo', args);
  }
  arc(...args: unknown[]) {
    this.rec('arc', args);
  }
  closePath() {
    this.rec('closePath', []);
  }
  stroke() {
    this.rec('stroke', []);
  }
  fill() {
    this.rec('fill', []);
  }
  fillText(...args: unknown[]) {
    this.rec('fillText', args);
  }
  setLineDash(...args: unknown[]) {
    this.rec('setLineDash', args);
  }
  count(op: string) {
    return this.ops.filter((o) => o.op === op).length;
  }
  texts() {
    return this.ops.filter((o) => o.op === 'fillText').map((o) => o.args[0] as string);
  }
}

const node = (id: string, over: Partial<CanvasNode> = {}): CanvasNode => ({
  id,
  label: id,
  group: id.split('/')[0] ?? '',
  level: 'ok',
  r: 6,
  ...over,
});
const edge = (source: string, destination: string, over: Partial<CanvasEdge> = {}): CanvasEdge => ({
  id: `${source}->${destination}`,
  source,
  destination,
  level: 'ok',
  width: 2,
  tip: '',
  ...over,
});

function scene(nodes: CanvasNode[], edges: CanvasEdge[], positions: Positions, over: Partial<MapScene> = {}): MapScene {
  return {
    nodes,
    edges,
    positions,
    byId: new Map(nodes.map((n) => [n.id, n])),
    groups: false,
    highlight: new Set(),
    selectedNode: null,
    selectedEdge: null,
    hover: null,
    ...over,
  };
}
const frame = (over: Partial<MapFrame> = {}): MapFrame => ({
  width: 400,
  height: 300,
  dpr: 1,
  view: { k: 1, x: 0, y: 0 },
  fast: false,
  ...over,
});

/** a → b → c in a row, d far off to the right (outside a 400 px wide view at k = 1). */
const NODES = [node('shop/a'), node('shop/b'), node('data/c', { level: 'bad' }), node('data/d')];
const POS: Positions = new Map([
  ['shop/a', { x: 50, y: 50 }],
  ['shop/b', { x: 150, y: 50 }],
  ['data/c', { x: 250, y: 80 }],
  ['data/d', { x: 5000, y: 50 }],
]);
const EDGES = [edge('shop/a', 'shop/b'), edge('shop/b', 'data/c', { level: 'bad' }), edge('data/c', 'data/d')];

describe('visibleBounds', () => {
  it('is the view rectangle in world units plus the margin', () => {
    const v: View = { k: 2, x: -100, y: 0 };
    const inView = visibleBounds(v, 400, 300);
    // World x from 50 to 250 is on screen at k = 2, shifted by 100 px; 40 world units of margin either side.
    expect(inView({ x: 11, y: 0 })).toBe(true);
    expect(inView({ x: 9, y: 0 })).toBe(false);
    expect(inView({ x: 289, y: 189 })).toBe(true);
    expect(inView({ x: 291, y: 0 })).toBe(false);
  });
});

describe('focusOf', () => {
  it('keeps the selected node, its direct peers and search hits in focus', () => {
    const f = focusOf({ edges: EDGES, highlight: new Set(['data/d']), selectedNode: 'shop/b' });
    expect(f.dimming).toBe(true);
    expect(['shop/a', 'shop/b', 'data/c', 'data/d'].map(f.focus)).toEqual([true, true, true, true]);
    const g = focusOf({ edges: EDGES, highlight: new Set(), selectedNode: 'shop/a' });
    expect(['shop/a', 'shop/b', 'data/c', 'data/d'].map(g.focus)).toEqual([true, true, false, false]);
  });
  it('dims nothing when nothing is selected or searched', () => {
    expect(focusOf({ edges: EDGES, highlight: new Set(), selectedNode: null }).dimming).toBe(false);
  });
});

describe('edgeBuckets', () => {
  const inView = visibleBounds({ k: 1, x: 0, y: 0 }, 400, 300);
  it('batches by health, emphasis and width; keeps an edge with one end in view, culls one with none', () => {
    const far = edge('data/d', 'data/d2');
    const pos: Positions = new Map([...POS, ['data/d2', { x: 6000, y: 0 }]]);
    const s = scene(NODES, [...EDGES, edge('shop/a', 'data/c', { width: 2.4 }), far], pos);
    const b = edgeBuckets(s, inView, focusOf(s), false);
    expect(b.map((x) => [x.level, x.strong, x.width, x.segs.length / 4])).toEqual([
      ['ok', true, 2, 3],
      ['bad', true, 2, 1],
    ]);
  });
  it('draws every edge one pixel wide in fast frames', () => {
    const s = scene(NODES, [edge('shop/a', 'shop/b', { width: 5.6 }), edge('shop/b', 'data/c', { width: 1 })], POS);
    expect(edgeBuckets(s, inView, focusOf(s), true).map((x) => x.width)).toEqual([1]);
  });
  it('with a selected node, only its own edges (and the selected edge) stay strong', () => {
    const s = scene(NODES, EDGES, POS, { selectedNode: 'shop/a', selectedEdge: 'data/c->data/d' });
    const b = edgeBuckets(s, inView, focusOf(s), false);
    const strong = (source: string, destination: string) => {
      const [a, c] = [POS.get(source), POS.get(destination)];
      const has = (segs: number[]) =>
        segs.some((_, i) => i % 4 === 0 && segs[i] === a?.x && segs[i + 1] === a?.y && segs[i + 2] === c?.x && segs[i + 3] === c?.y);
      return b.find((x) => has(x.segs))?.strong;
    };
    expect([strong('shop/a', 'shop/b'), strong('shop/b', 'data/c'), strong('data/c', 'data/d')]).toEqual([true, false, true]);
  });
});

describe('edge kinds', () => {
  const inView = visibleBounds({ k: 1, x: 0, y: 0 }, 400, 300);
  it('a drops-only edge gets its own dashed bucket; a self-loop is a circle of segments above its node', () => {
    const s = scene(NODES, [edge('shop/a', 'shop/b'), edge('shop/b', 'data/c', { dashed: true }), edge('shop/a', 'shop/a')], POS);
    const b = edgeBuckets(s, inView, focusOf(s), false);
    expect(b.map((x) => [x.dashed, x.segs.length / 4])).toEqual([
      [false, 17],
      [true, 1],
    ]);
    const ys = (b[0]?.segs ?? []).slice(4).filter((_, i) => i % 2 === 1);
    expect(Math.max(...ys)).toBeLessThan(50);
    const ctx = new Recorder();
    paintMap(ctx as unknown as PaintContext, s, frame(), PALETTE);
    expect(ctx.ops.filter((o) => o.op === 'setLineDash').map((o) => (o.args[0] as number[]).length)).toEqual([0, 2, 0]);
  });
});

describe('groupLabels', () => {
  it('centres each group over its members, at the topmost one', () => {
    expect(groupLabels(NODES, POS)).toEqual([
      { name: 'shop', x: 100, top: 50 },
      { name: 'data', x: 2625, top: 50 },
    ]);
  });
});

describe('paintMap', () => {
  it('paints background, one stroke per edge bucket, one fill per node batch, and every label of a small map', () => {
    const ctx = new Recorder();
    paintMap(ctx, scene(NODES, EDGES, POS), frame(), PALETTE);
    expect(ctx.ops[0]?.op).toBe('setTransform');
    expect(ctx.ops.find((o) => o.op === 'fillRect')).toMatchObject({ args: [0, 0, 400, 300], fillStyle: 'white' });
    // Edges: an ok and a bad bucket (d is off screen but c → d has c in view), strokes at alpha 0.55.
    const edgeStrokes = ctx.ops.filter((o) => o.op === 'stroke' && o.globalAlpha === 0.55);
    expect(edgeStrokes.map((o) => o.strokeStyle)).toEqual(['green', 'red']);
    // Nodes: d is culled; ok and bad batches, each outlined in the panel colour.
    expect(ctx.count('arc')).toBe(3);
    expect(ctx.ops.filter((o) => o.op === 'fill' && o.globalAlpha === 1).map((o) => o.fillStyle)).toEqual(['green', 'red']);
    expect(ctx.texts()).toEqual(['shop/a', 'shop/b', 'data/c']);
  });

  it('draws arrowheads only when zoomed in enough and not in fast frames', () => {
    const arrows = (f: Partial<MapFrame>) => {
      const ctx = new Recorder();
      paintMap(ctx, scene(NODES, EDGES, POS), frame(f), PALETTE);
      return ctx.count('closePath');
    };
    expect(arrows({})).toBe(2); // c → d points at d, which is off screen
    expect(arrows({ view: { k: 0.5, x: 0, y: 0 } })).toBe(0);
    expect(arrows({ fast: true })).toBe(0);
  });

  it('in fast frames skips node outlines and the labels of nodes not in focus', () => {
    const ctx = new Recorder();
    paintMap(ctx, scene(NODES, EDGES, POS, { highlight: new Set(['shop/b']) }), frame({ fast: true }), PALETTE);
    expect(ctx.ops.filter((o) => o.op === 'stroke' && o.strokeStyle === 'white')).toHaveLength(0);
    expect(ctx.texts()).toEqual(['shop/b']);
  });

  it('on a big map labels only what is emphasised (search hit, hover) until zoomed in, then at most 400', () => {
    const many = Array.from({ length: 500 }, (_, i) => node(`ns/s${i}`));
    const pos: Positions = new Map(many.map((n, i) => [n.id, { x: (i % 25) * 10, y: Math.floor(i / 25) * 10 }]));
    const s = scene(many, [], pos, { highlight: new Set(['ns/s7']), hover: 'ns/s9' });
    const out = new Recorder();
    paintMap(out, s, frame(), PALETTE);
    expect(out.texts()).toEqual(['ns/s7', 'ns/s9']);
    const zoomed = new Recorder();
    paintMap(zoomed, { ...s, highlight: new Set() }, frame({ view: { k: 1.5, x: 0, y: 0 } }), PALETTE);
    expect(zoomed.texts()).toHaveLength(401); // 400 plain labels plus the hovered one
  });

  it('rings the selected node and strokes the selected edge in the accent colour', () => {
    const ctx = new Recorder();
    paintMap(
      ctx,
      scene(NODES, EDGES, POS, { selectedNode: 'shop/a', selectedEdge: 'shop/a->shop/b' }),
      frame({ view: { k: 1.25, x: 0, y: 0 } }),
      PALETTE,
    );
    const accent = ctx.ops.filter((o) => o.op === 'stroke' && o.strokeStyle === 'blue');
    expect(accent.map((o) => o.lineWidth)).toEqual([(2 + 3) / 1.25, 2.5 / 1.25]);
    // Nodes out of focus (c) are faint (the last red fill: the arrowhead into c comes before the nodes).
    expect(ctx.ops.filter((o) => o.op === 'fill' && o.fillStyle === 'red').at(-1)?.globalAlpha).toBe(0.25);
  });

  it('names groups at their centre, an empty namespace as such, and restores the text alignment', () => {
    const nodes = [node('a', { group: '' }), node('b', { group: '' })];
    const pos: Positions = new Map([
      ['a', { x: 0, y: 20 }],
      ['b', { x: 100, y: 40 }],
    ]);
    const ctx = new Recorder();
    paintMap(ctx, scene(nodes, [], pos, { groups: true }), frame({ view: { k: 1, x: 10, y: 30 } }), PALETTE);
    const label = ctx.ops.find((o) => o.op === 'fillText' && o.args[0] === '(no namespace)');
    expect(label).toMatchObject({ args: ['(no namespace)', 60, 20 + 30 - 18], textAlign: 'center', fillStyle: 'blue' });
    expect(ctx.textAlign).toBe('start');
  });
});
