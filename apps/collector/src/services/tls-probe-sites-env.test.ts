/** SEXTANT_TLS_PROBE_SITES: where TlsHooks puts the TLS uprobes (packages/bpf probe-sites.ts). */
import { describe, expect, it } from 'vitest';
import { tlsProbeSitesFromEnv } from './tls-hooks';

describe('SEXTANT_TLS_PROBE_SITES', () => {
  it('auto when unset or empty, symbols when asked, anything else refused by name', () => {
    expect([tlsProbeSitesFromEnv({}), tlsProbeSitesFromEnv({ SEXTANT_TLS_PROBE_SITES: '' })]).toEqual(['auto', 'auto']);
    expect(tlsProbeSitesFromEnv({ SEXTANT_TLS_PROBE_SITES: 'symbols' })).toBe('symbols');
    expect(() => tlsProbeSitesFromEnv({ SEXTANT_TLS_PROBE_SITES: 'internal' })).toThrow(
      'SEXTANT_TLS_PROBE_SITES must be auto or symbols, not "internal"',
    );
  });
});
