import { describe, expect, it } from 'vitest';
import { planWindow } from './window-source';

const H = 3_600_000;
const day = Date.UTC(2026, 11, 5);
const hours = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => day + (from + i) * H);

describe('planWindow', () => {
  it('reads closed clean blocks, hours around them, and the current hour from minutes', () => {
    // Window [yesterday 15:00, today 16:00), now in 15:xx: blocks 18, 00, 06 (12–15 is not closed).
    const p = planWindow(day - 9 * H, day + 16 * H, day + 15 * H, new Set([day + 15 * H]), new Set());
    expect(p.blocks).toEqual([day - 6 * H, day, day + 6 * H]);
    expect(p.hours).toEqual([...hours(-9, -6), ...hours(12, 15)]);
    expect(p.minuteRanges).toEqual([[day + 15 * H, day + 16 * H]]);
  });

  it('skips a marked block or one with a dirty hour: its clean hours from edge_hour, dirty ones from minutes', () => {
    const p = planWindow(day, day + 24 * H, day + 23 * H, new Set([day + 8 * H, day + 9 * H]), new Set([day + 12 * H]));
    expect(p.blocks).toEqual([day]);
    expect(p.hours).toEqual([...hours(6, 8), ...hours(10, 23)]);
    expect(p.minuteRanges).toEqual([
      [day + 8 * H, day + 10 * H],
      [day + 23 * H, day + 24 * H],
    ]);
  });

  it('a window in the past has no minute part; an empty window has nothing', () => {
    expect(planWindow(day, day + 12 * H, day + 30 * H, new Set(), new Set())).toEqual({
      blocks: [day, day + 6 * H],
      hours: [],
      minuteRanges: [],
    });
    expect(planWindow(day, day, day + 30 * H, new Set(), new Set())).toEqual({ blocks: [], hours: [], minuteRanges: [] });
  });
});
