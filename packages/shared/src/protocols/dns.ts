/** DNS over UDP and TCP: an exchange is a query with its answer; NXDOMAIN is its own class, other failures errors. */
import type { z } from 'zod';
import type { DnsInfo } from '../flow';
import { compact, type L7ProtocolSpec } from './spec';

/**
 * DNS response codes (RFC 1035 / 2136): the mnemonic people search for, and for the six classic ones the
 * text Hubble's DNS metrics label them with (others: `RCODE<n>`).
 */
export const DNS_RCODES: Readonly<Record<number, { mnemonic: string; hubble?: string }>> = {
  0: { mnemonic: 'NOERROR', hubble: 'No Error' },
  1: { mnemonic: 'FORMERR', hubble: 'Format Error' },
  2: { mnemonic: 'SERVFAIL', hubble: 'Server Failure' },
  3: { mnemonic: 'NXDOMAIN', hubble: 'Non-Existent Domain' },
  4: { mnemonic: 'NOTIMP', hubble: 'Not Implemented' },
  5: { mnemonic: 'REFUSED', hubble: 'Query Refused' },
  6: { mnemonic: 'YXDOMAIN' },
  7: { mnemonic: 'YXRRSET' },
  8: { mnemonic: 'NXRRSET' },
  9: { mnemonic: 'NOTAUTH' },
  10: { mnemonic: 'NOTZONE' },
};
export const DNS_NXDOMAIN = 3;

export function dnsRcodeName(rcode: number, style: 'mnemonic' | 'hubble' = 'mnemonic'): string {
  return DNS_RCODES[rcode]?.[style] ?? `RCODE${rcode}`;
}

interface HubbleDns {
  query?: string;
  ips?: string[];
  ttl?: number | string;
  cnames?: string[];
  rcode?: number | string;
  qtypes?: string[];
  rrtypes?: string[];
}

export const dnsProtocol: L7ProtocolSpec = {
  label: 'DNS',
  transports: ['udp', 'tcp'],
  summary: (e) => {
    const d = e.dns;
    if (!d) return 'DNS';
    const types = d.qtypes.length ? ` ${d.qtypes.join(',')}` : '';
    return `DNS ${d.query}${types} → ${d.rcode === undefined ? '…' : dnsRcodeName(d.rcode)}`;
  },
  statusClass: (e) => {
    const rcode = e.dns?.rcode;
    if (rcode === undefined) return 'none';
    if (rcode === 0) return 'ok';
    // A name that does not exist is an answer, not a failed server, and often a misconfiguration:
    // its own class, shown apart from errors. SERVFAIL, REFUSED and the rest are errors.
    return rcode === DNS_NXDOMAIN ? 'nxdomain' : 'error';
  },
  toHubble: (e) =>
    e.dns &&
    compact({
      query: e.dns.query,
      ips: e.dns.ips,
      ttl: e.dns.ttl,
      cnames: e.dns.cnames,
      rcode: e.dns.rcode,
      qtypes: e.dns.qtypes,
      rrtypes: e.dns.rrtypes,
    }),
  fromHubble(d: HubbleDns, ctx) {
    const dns: z.input<typeof DnsInfo> = {
      query: d.query ?? '',
      ips: d.ips ?? [],
      cnames: d.cnames ?? [],
      qtypes: d.qtypes ?? [],
      rrtypes: d.rrtypes ?? [],
      transport: ctx.transport === 'TCP' ? 'tcp' : 'udp',
    };
    if (d.ttl) dns.ttl = Number(d.ttl);
    // protojson leaves rcode 0 out: a response without one answered NOERROR.
    if (d.rcode || ctx.response) dns.rcode = Number(d.rcode ?? 0);
    return dns;
  },
};
