/**
 * The L7 protocol registry: one entry per protocol Sextant decodes, each defined in its own module under
 * protocols/ (name, transports, one-line summary, status class, Hubble mapping). The flow table, the
 * drawer, the CLI, rollups, filters, metrics, Hubble export/import and Grafana read it; a protocol added to
 * L7_PROTOCOLS (flow.ts) does not compile until it has an entry here.
 */
import type { L7Protocol } from './flow';
import { dnsProtocol } from './protocols/dns';
import { httpProtocol } from './protocols/http';
import { kafkaProtocol } from './protocols/kafka';
import type { L7ProtocolSpec } from './protocols/spec';

export { DNS_NXDOMAIN, DNS_RCODES, dnsRcodeName } from './protocols/dns';
export { grpcStatusClass, grpcStatusName, GRPC_STATUS_NAMES, httpStatusClass } from './protocols/http';
export type { HubbleImportContext, L7ProtocolSpec } from './protocols/spec';

export const L7_PROTOCOL_REGISTRY: { readonly [P in L7Protocol]: L7ProtocolSpec } = {
  http: httpProtocol,
  dns: dnsProtocol,
  kafka: kafkaProtocol,
};

/** The L7 protocols that run over `transport` only, and those that may run over it among others. */
export function l7ProtocolsOver(transport: 'tcp' | 'udp'): { only: L7Protocol[]; among: L7Protocol[] } {
  const entries = Object.entries(L7_PROTOCOL_REGISTRY) as [L7Protocol, L7ProtocolSpec][];
  const over = entries.filter(([, s]) => s.transports.includes(transport));
  return {
    only: over.filter(([, s]) => s.transports.length === 1).map(([p]) => p),
    among: over.filter(([, s]) => s.transports.length > 1).map(([p]) => p),
  };
}
