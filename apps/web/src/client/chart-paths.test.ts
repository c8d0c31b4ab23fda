import { describe, expect, it } from 'vitest';
import { chartShapes, type ChartPoint } from './chart-paths';

const x = (t: number) => t * 10;
const y = (v: number) => 100 - v;
const pts = (vs: (number | null)[], partialLast = false): ChartPoint[] =>
  vs.map((v, i) => ({ t: i, v, partial: partialLast && i === vs.length - 1 }));

describe('chart paths: no data is not zero', () => {
  it('draws one path when every step has data', () => {
    expect(chartShapes(pts([1, 2, 3]), x, y)).toEqual({ paths: ['M0,99L10,98L20,97'], dots: [], partial: [] });
  });

  it('a step with no data splits the line into separate segments (a gap, not a drop to 0)', () => {
    const s = chartShapes(pts([5, 6, null, null, 7, 8]), x, y);
    expect(s.paths).toEqual(['M0,95L10,94', 'M40,93L50,92']);
    // No point of any path sits at v = 0 (y = 100).
    expect(s.paths.join('')).not.toContain(',100');
  });

  it('a measured zero stays on the line', () => {
    expect(chartShapes(pts([1, 0, 1]), x, y).paths).toEqual(['M0,99L10,100L20,99']);
  });

  it('a lone point between gaps is a dot; the partial last step is a hollow marker, not joined', () => {
    const s = chartShapes(pts([null, 4, null, 2, 3, 0.5], true), x, y);
    expect(s.dots).toEqual([{ x: 10, y: 96 }]);
    expect(s.paths).toEqual(['M30,98L40,97']);
    expect(s.partial).toEqual([{ x: 50, y: 99.5 }]);
  });

  it('all null: nothing drawn', () => {
    expect(chartShapes(pts([null, null]), x, y)).toEqual({ paths: [], dots: [], partial: [] });
  });
});
