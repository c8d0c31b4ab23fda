import { describe, expect, it } from 'vitest';
import { parseUiFilter } from './ui-filter';

describe('the flow page filter line', () => {
  it('applies hubble filter flags', () => {
    const r = parseUiFilter('--to-service payments --http-status 5+');
    expect(r.error).toBeNull();
    expect(r.filter?.allow).toEqual([{ destinationService: ['payments'], httpStatusCode: ['5+'] }]);
    expect(parseUiFilter('  ')).toEqual({ filter: { allow: [], deny: [] }, error: null });
  });

  it('refuses the time flags: time comes from the range picker', () => {
    for (const line of ['--since 5m', '--since=5m --to-service web', '--until 2026-01-01T00:00:00Z', '--to-service web --since 1h']) {
      const r = parseUiFilter(line);
      expect(r.filter).toBeNull();
      expect(r.error).toContain('time comes from the range picker');
    }
  });

  it('refuses --last/--first, --follow/-f and --output/-o, naming what to use instead', () => {
    expect(parseUiFilter('--last 20').error).toMatch(/--last: .*narrow the time range/);
    expect(parseUiFilter('--first 5').error).toMatch(/--first: /);
    expect(parseUiFilter('--follow').error).toMatch(/--follow: use the Live tail button/);
    expect(parseUiFilter('-f --verdict DROPPED').error).toMatch(/--follow: use the Live tail button/);
    expect(parseUiFilter('-o json').error).toMatch(/--output: use Export JSON or Export CSV/);
    // Several at once: each named once.
    const both = parseUiFilter('--since 5m --until 1m --follow').error ?? '';
    expect(both.match(/--since/g)).toHaveLength(1);
    expect(both).toContain('--until');
    expect(both).toContain('--follow');
  });

  it('reports a syntax error as such (before the not-applied flags)', () => {
    expect(parseUiFilter('--bogus x')).toEqual({ filter: null, error: 'unknown flag --bogus' });
    expect(parseUiFilter('--since yesterday').error).toMatch(/--since: expected a duration/);
    // A value that looks like a refused flag name is not one.
    expect(parseUiFilter('--to-service since').error).toBeNull();
  });
});
