import { describe, expect, it } from 'vitest';
import { AFTER_SIGN_IN, loginHref, safeNextPath } from './sign-in-return';

describe('sign-in return path', () => {
  it('returns to same-origin paths with their query and fragment', () => {
    expect(safeNextPath('/flows?q=--to-service%20payments&range=1h&sel=x')).toBe('/flows?q=--to-service%20payments&range=1h&sel=x');
    expect(safeNextPath('/dashboards?service=web&namespace=shop#latency')).toBe('/dashboards?service=web&namespace=shop#latency');
    expect(safeNextPath('/admin')).toBe('/admin');
  });

  it('refuses anything that leaves the origin (no open redirect)', () => {
    for (const evil of [
      'https://evil.example/x',
      '//evil.example/x',
      '/\\evil.example',
      '\\\\evil.example',
      'javascript:alert(1)',
      '/\t/evil.example',
      '/\n/evil.example',
      ' //evil.example',
      'evil.example',
      'http:/evil.example',
      '',
    ])
      expect(safeNextPath(evil), evil).toBe(AFTER_SIGN_IN);
    expect(safeNextPath(null)).toBe(AFTER_SIGN_IN);
    expect(safeNextPath(undefined)).toBe(AFTER_SIGN_IN);
  });

  it('does not return to the login page itself or to the API', () => {
    expect(safeNextPath('/login?next=/flows')).toBe(AFTER_SIGN_IN);
    expect(safeNextPath('/api/trpc/auth.me')).toBe(AFTER_SIGN_IN);
  });

  it('normalises dot segments without leaving the origin', () => {
    expect(safeNextPath('/flows/../dashboards?x=1')).toBe('/dashboards?x=1');
    expect(safeNextPath('/../../etc/passwd')).toBe('/etc/passwd');
  });

  it('builds the login link with the encoded return path', () => {
    expect(loginHref('/flows?q=--verdict DROPPED&range=15m')).toBe('/login?next=%2Fflows%3Fq%3D--verdict%2520DROPPED%26range%3D15m');
    expect(loginHref('/map')).toBe('/login?next=%2Fmap');
    expect(loginHref('//evil.example')).toBe('/login');
  });
});
