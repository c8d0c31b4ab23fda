import { parseFilterText } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { flowsLink, legacyQuery, quoteArg, readFlowsState, serviceFlags, writeFlowsState } from './url-state';

const F = '0f8fad5b-d9cb-469f-a165-70867728950e';
const E = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

describe('flows URL state', () => {
  it('round-trips filter, live tail and the open connection, keeping the time range', () => {
    const base = new URLSearchParams('range=15m');
    const p = writeFlowsState(base, {
      q: "--http-path '/a b' --http-status 5+",
      live: true,
      selected: { flowId: F, time: 1700000000123, eventId: E },
      includeSelf: true,
    });
    expect(p.get('self')).toBe('1');
    expect(p.get('range')).toBe('15m');
    expect(readFlowsState(new URLSearchParams(p.toString()))).toEqual({
      q: "--http-path '/a b' --http-status 5+",
      live: true,
      selected: { flowId: F, time: 1700000000123, eventId: E },
      includeSelf: true,
    });
    const closed = writeFlowsState(p, { selected: null, live: false, includeSelf: false });
    expect([...closed.keys()].sort()).toEqual(['q', 'range']);
  });

  it('ignores malformed selections instead of failing', () => {
    expect(readFlowsState(new URLSearchParams('sel=abc@12')).selected).toBeNull();
    expect(readFlowsState(new URLSearchParams(`sel=${F}@x`)).selected).toBeNull();
    expect(readFlowsState(new URLSearchParams(`sel=${F}@5&ev=nope`)).selected).toEqual({ flowId: F, time: 5, eventId: null });
  });

  it('turns old field links into the equivalent flag line, which the hubble parser accepts', () => {
    const q = legacyQuery(new URLSearchParams('from=curl&to=web-api&status=5%2B,404&ip=10.0.0.1'));
    expect(q).toBe('--from-service curl --to-service web-api --ip 10.0.0.1 --http-status 5+ --http-status 404');
    expect(readFlowsState(new URLSearchParams('from=curl')).q).toBe('--from-service curl');
    const parsed = parseFilterText(q).filter;
    expect(parsed.allow.length).toBeGreaterThan(0);
    // Writing state drops the legacy keys in favour of q.
    expect(writeFlowsState(new URLSearchParams('from=curl'), {}).toString()).toBe('q=--from-service+curl');
  });

  it('quotes values with spaces and builds service flags from map ids', () => {
    expect(quoteArg('a b')).toBe("'a b'");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(serviceFlags('to', 'shop/web-api')).toBe('--to-service web-api --to-namespace shop');
    expect(serviceFlags('from', 'curl')).toBe('--from-service curl');
    expect(flowsLink('--to-service x', new URLSearchParams('range=6h&foo=1'))).toBe('/flows?range=6h&q=--to-service+x');
  });
});
