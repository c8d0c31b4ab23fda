import { describe, expect, it } from 'vitest';
import { hoverAt, inferUnit, stepMs, unitNote, unitSuffix } from './chart-hover';

const s = (label: string, pts: [number, number | null, boolean?][]) => ({
  label,
  colour: 'red',
  points: pts.map(([t, v, partial]) => ({ t, v, partial })),
});

describe('chart hover values', () => {
  it('knows rates per second from counts per step', () => {
    expect(inferUnit('Requests / s')).toBe('per-second');
    expect(inferUnit('Connections / s')).toBe('per-second');
    expect(inferUnit('Error ratio')).toBe('ratio');
    expect(inferUnit('Latency')).toBe('duration');
    expect(inferUnit('DNS queries by rcode')).toBe('per-step');
    expect(inferUnit('Drops by reason (packets)')).toBe('per-step');
  });

  it('states the step', () => {
    const series = [
      s('a', [
        [0, 1],
        [60_000, 2],
        [120_000, 3],
      ]),
      s('b', [[30_000, 1]]),
    ];
    expect(stepMs(series)).toBe(30_000);
    expect(stepMs([s('a', [[0, 1]])])).toBeNull();
    expect(unitNote('per-second', 60_000)).toBe('per second, averaged over each 60 s step');
    expect(unitNote('per-step', 300_000)).toBe('count per 5 min step');
    expect(unitNote('per-step', null)).toBe('count per step');
    expect(unitSuffix('per-second', 60_000)).toBe(' /s');
    expect(unitSuffix('per-step', 60_000)).toBe(' per 60 s');
    expect(unitSuffix('ratio', 60_000)).toBe('');
  });

  it('reads every series at the nearest step; no data is not zero', () => {
    const series = [
      s('2xx', [
        [0, 10],
        [60_000, 12],
        [120_000, 4, true],
      ]),
      s('5xx', [
        [0, 1],
        [60_000, null],
      ]),
    ];
    const h = hoverAt(series, 50_000, (v) => v.toFixed(1), ' /s');
    expect(h).toEqual({
      t: 60_000,
      partial: false,
      rows: [
        { label: '2xx', colour: 'red', text: '12.0 /s' },
        { label: '5xx', colour: 'red', text: 'no data' },
      ],
    });
    const last = hoverAt(series, 1e9, String, '');
    expect(last?.t).toBe(120_000);
    expect(last?.partial).toBe(true);
    expect(last?.rows[1]?.text).toBe('no data');
    expect(hoverAt([s('x', [])], 0, String, '')).toBeNull();
  });
});
