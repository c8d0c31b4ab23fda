import { describe, expect, it } from 'vitest';
import { QueryRedactor, redactHeaderValue } from './redact';

describe('redaction', () => {
  it('redacts the default query parameters, case-insensitively and percent-decoded', () => {
    const r = new QueryRedactor();
    expect(r.redactTarget('/a?token=1&page=2&API%5FKEY=3&Password=4&sig=&x#frag')).toBe(
      '/a?token=REDACTED&page=2&API%5FKEY=REDACTED&Password=REDACTED&sig=REDACTED&x#frag',
    );
    expect(r.redactTarget('/plain')).toBe('/plain');
    expect(r.redactTarget('/bad?%zz=1&secret=2')).toBe('/bad?%zz=1&secret=REDACTED');
  });

  it("'*' redacts every value; an empty list none", () => {
    expect(new QueryRedactor(['*']).redactTarget('/a?x=1&y=2&z')).toBe('/a?x=REDACTED&y=REDACTED&z');
    expect(new QueryRedactor([]).redactTarget('/a?token=1')).toBe('/a?token=1');
    expect(new QueryRedactor(['Session']).redactTarget('/a?session=1&token=2')).toBe('/a?session=REDACTED&token=2');
  });

  it('always redacts credential headers', () => {
    expect(redactHeaderValue('Authorization', 'Bearer x')).toBe('REDACTED');
    expect(redactHeaderValue('proxy-authorization', 'Basic x')).toBe('REDACTED');
    expect(redactHeaderValue('cookie', 'a=1')).toBe('REDACTED');
    expect(redactHeaderValue('Set-Cookie', 'a=1')).toBe('REDACTED');
    expect(redactHeaderValue('content-type', 'text/plain')).toBe('text/plain');
  });
});
