import { describe, expect, it } from 'vitest';
import { L7_PROTOCOLS, type L7Protocol } from './flow';
import { DNS_RCODES, dnsRcodeName, L7_PROTOCOL_REGISTRY, type L7ProtocolSpec } from './l7-protocols';

describe('L7 protocol registry', () => {
  it('has exactly one entry per protocol of the flow model', () => {
    expect(Object.keys(L7_PROTOCOL_REGISTRY).sort()).toEqual([...L7_PROTOCOLS].sort());
  });

  it('makes the compiler ask for a new protocol everywhere the registry is typed', () => {
    // A protocol added to L7_PROTOCOLS must get an entry: a registry missing one does not type-check.
    type WithFake = L7Protocol | 'fake';
    const spec: L7ProtocolSpec = L7_PROTOCOL_REGISTRY.http;
    // @ts-expect-error 'fake' is missing
    const incomplete: { readonly [P in WithFake]: L7ProtocolSpec } = { http: spec, dns: spec, kafka: spec };
    expect(incomplete).toBeDefined();
  });

  it('names DNS rcodes the way people search for them and the way Hubble labels metrics', () => {
    expect([0, 2, 3, 5, 9].map((c) => dnsRcodeName(c))).toEqual(['NOERROR', 'SERVFAIL', 'NXDOMAIN', 'REFUSED', 'NOTAUTH']);
    expect([0, 2, 3, 5, 9, 99].map((c) => dnsRcodeName(c, 'hubble'))).toEqual([
      'No Error',
      'Server Failure',
      'Non-Existent Domain',
      'Query Refused',
      'RCODE9',
      'RCODE99',
    ]);
    expect(Object.keys(DNS_RCODES)).toHaveLength(11);
  });
});
