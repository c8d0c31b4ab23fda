import { describe, expect, it } from 'vitest';
import { coverageLine, coverageNotice, keptBecause, sharePercent } from './coverage-text';

const kept = (over: Partial<Record<'error' | 'slow' | 'capture' | 'sampled' | 'full', number>> = {}) => ({
  error: 0,
  slow: 0,
  capture: 0,
  sampled: 0,
  full: 0,
  ...over,
});

describe('coverage wording', () => {
  it('states exchanges, records and the kept share when successes were sampled', () => {
    expect(coverageNotice({ exchanges: 12_418, records: 731, kept: kept({ error: 120, slow: 11, sampled: 600 }) })).toBe(
      'HTTP: 12,418 exchanges, 731 kept as records (≈5.9 %) — every error and slow exchange, successes sampled. ' +
        'Counts and rates come from all exchanges. Live tail records everything while open.',
    );
  });

  it('says nothing on the flows page when nothing was sampled', () => {
    expect(coverageNotice({ exchanges: 40, records: 40, kept: kept({ full: 30, error: 10 }) })).toBeNull();
    expect(coverageNotice({ exchanges: 0, records: 0, kept: kept() })).toBeNull();
  });

  it('gives the service panel its records line', () => {
    expect(coverageLine({ exchanges: 1016, records: 31, kept: kept({ error: 7, slow: 2, capture: 4, sampled: 12, full: 6 }) })).toBe(
      'HTTP records: 31 of 1,016 exchanges (≈3.1 %): 7 errors, 2 slow, 4 live capture, 12 sampled',
    );
    expect(coverageLine({ exchanges: 50, records: 50, kept: kept({ full: 50 }) })).toBe('HTTP records: every exchange (50)');
    expect(coverageLine({ exchanges: 0, records: 0, kept: kept() })).toBeNull();
  });

  it('rounds shares without claiming 0 or more than all', () => {
    expect(sharePercent(1, 100_000)).toBe('< 0.1 %');
    expect(sharePercent(5, 5)).toBe('100 %');
    expect(sharePercent(1, 3)).toBe('≈33.3 %');
  });

  it('names why a record was kept, and nothing for the full path', () => {
    expect(keptBecause('error')).toMatch(/^error — /);
    expect(keptBecause('slow')).toMatch(/^slow — /);
    expect(keptBecause('capture')).toMatch(/^live capture — /);
    expect(keptBecause('sampled')).toMatch(/^sampled — /);
    expect(keptBecause(undefined)).toBeNull();
  });
});
