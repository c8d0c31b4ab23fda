/**
 * The L7 protocol registry: for each protocol Sextant decodes, the one definition of how an exchange is
 * named, summarised in a line and classified (which status class, hence whether it is an error). The flow
 * table, the drawer, the CLI, rollups, metrics and exports read it; a protocol added to L7_PROTOCOLS
 * (flow.ts) does not compile until it has an entry here.
 */
import type { L7Event, L7Protocol } from './flow';
import type { StatusClass } from './status';

export interface L7ProtocolSpec {
  /** How people write it: 'HTTP', 'DNS', 'Kafka'. */
  label: string;
  /**
   * The transports it runs over: one, or both (then an exchange's own `transport` detail says which), so
   * that `--protocol tcp|udp` finds its exchanges.
   */
  transports: readonly ('tcp' | 'udp')[];
  /** The exchange in one line, as the flow table, the drawer and the CLI print it. */
  summary(e: L7Event): string;
  /** The exchange's status class (errors are `isErrorClass`'s; NXDOMAIN is its own class). */
  statusClass(e: L7Event): StatusClass;
}

export function httpStatusClass(code: number | undefined): StatusClass {
  if (code === undefined || code === 0) return 'none';
  const c = Math.floor(code / 100);
  return c >= 1 && c <= 5 ? (`${c}xx` as StatusClass) : 'error';
}

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

export const L7_PROTOCOL_REGISTRY: { readonly [P in L7Protocol]: L7ProtocolSpec } = {
  http: {
    label: 'HTTP',
    transports: ['tcp'],
    summary: (e) => (e.http ? `${e.http.method} ${e.http.path} → ${e.http.code ?? '…'}` : 'HTTP'),
    statusClass: (e) => httpStatusClass(e.http?.code),
  },
  dns: {
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
  },
  kafka: {
    label: 'Kafka',
    transports: ['tcp'],
    summary: (e) => {
      const k = e.kafka;
      if (!k) return 'Kafka';
      const outcome = k.errorCode === undefined ? '' : k.errorCode === 0 ? ' → ok' : ` → error ${k.errorCode}`;
      return `Kafka ${k.apiKey}${k.topic ? ` ${k.topic}` : ''}${outcome}`;
    },
    statusClass: (e) => {
      const code = e.kafka?.errorCode;
      if (code === undefined) return 'none';
      return code === 0 ? 'ok' : 'error';
    },
  },
};

/** The L7 protocols that run over `transport` only, and those that may run over it among others. */
export function l7ProtocolsOver(transport: 'tcp' | 'udp'): { only: L7Protocol[]; among: L7Protocol[] } {
  const entries = Object.entries(L7_PROTOCOL_REGISTRY) as [L7Protocol, L7ProtocolSpec][];
  const over = entries.filter(([, s]) => s.transports.includes(transport));
  return { only: over.filter(([, s]) => s.transports.length === 1).map(([p]) => p), among: over.filter(([, s]) => s.transports.length > 1).map(([p]) => p) };
}
