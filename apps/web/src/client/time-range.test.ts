import { describe, expect, it } from 'vitest';
import { formatNs, parseRange } from './time-range';

describe('time range in the URL', () => {
  it('reads relative ranges and defaults to the last hour', () => {
    expect(parseRange(new URLSearchParams('range=15m'), 1_000_000_000)).toMatchObject({
      since: 1_000_000_000 - 900_000,
      until: 1_000_000_000,
    });
    expect(parseRange(new URLSearchParams(''), 10_000_000).since).toBe(10_000_000 - 3_600_000);
    expect(parseRange(new URLSearchParams('range=bogus'), 10_000_000).since).toBe(10_000_000 - 3_600_000);
  });
  it('reads absolute ranges and ignores inverted ones', () => {
    expect(parseRange(new URLSearchParams('since=1000&until=5000'))).toMatchObject({ since: 1000, until: 5000 });
    expect(parseRange(new URLSearchParams('since=5000&until=1000'), 10_000_000).until).toBe(10_000_000);
  });
  it('formats latencies with their unit', () => {
    expect(formatNs(850)).toBe('850 ns');
    expect(formatNs(42_000)).toBe('42 µs');
    expect(formatNs(3_456_000)).toBe('3.46 ms');
    expect(formatNs(null)).toBe('–');
  });
});

describe('range edits', () => {
  it('brushing sets an absolute range and drops the relative one; picking relative drops absolute', async () => {
    const { withAbsoluteRange, withRelativeRange, toLocalInput, fromLocalInput } = await import('./time-range');
    const p = withAbsoluteRange(new URLSearchParams('range=1h&q=x'), 5000.4, 2000);
    expect(p.toString()).toBe('q=x&since=2000&until=5000');
    expect(parseRange(p)).toMatchObject({ since: 2000, until: 5000, absolute: true });
    expect(withRelativeRange(p, '6h').toString()).toBe('q=x&range=6h');
    const t = new Date(2026, 10, 25, 13, 5).getTime();
    expect(fromLocalInput(toLocalInput(t))).toBe(t);
    expect(fromLocalInput('yesterday')).toBeNull();
  });
});
