import { describe, expect, it } from 'vitest';
import { formatNs, parseRange } from './time-range';

describe('time range in the URL', () => {
  it('reads relative ranges and defaults to the last hour', () => {
    expect(parseRange(new URLSearchParams('range=15m'), 1_000_000_000)).toMatchObject({ since: 1_000_000_000 - 900_000, until: 1_000_000_000 });
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
