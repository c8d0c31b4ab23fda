import { L7_COVERAGE_CLASSES, type L7CoverageClass } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { classParts, decodeCoverageLine, decodedSummary } from './decode-coverage-text';

const w = (connections: Partial<Record<string, number>>) => {
  const c = { ...(Object.fromEntries(L7_COVERAGE_CLASSES.map((k) => [k, 0])) as Record<L7CoverageClass, number>), ...connections };
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  return { namespace: '', service: 's', connections: c, total, decoded: c.cleartext + c['tls-openssl'] + c['tls-node'] };
};

describe('decode coverage wording', () => {
  it('says what was decoded and what was not, per class, decoded classes first', () => {
    const x = w({ 'tls-undecoded': 3, cleartext: 1, 'tls-node': 1200 });
    expect(classParts(x).map((p) => p.text)).toEqual([
      'Cleartext (decoded): 1 connection',
      'TLS via Node (decoded): 1,200 connections',
      'TLS (not decoded): 3 connections',
    ]);
    expect(decodedSummary(x)).toBe('Decoded 1,201 of 1,204 connections');
    expect(decodeCoverageLine(x)).toBe(
      'L7 decoding — Decoded 1,201 of 1,204 connections: Cleartext (decoded): 1 connection · TLS via Node (decoded): 1,200 connections · TLS (not decoded): 3 connections',
    );
  });

  it('all, none, nothing', () => {
    expect(decodedSummary(w({ cleartext: 7 }))).toBe('Decoded: all 7 connections');
    expect(decodedSummary(w({ unrecognized: 2, 'http2-undecodable': 1 }))).toBe('Not decoded: 3 connections');
    expect(decodeCoverageLine(w({}))).toBeNull();
    expect(decodeCoverageLine(undefined)).toBeNull();
  });
});
