/**
 * How an endpoint is named on the service map and in rollups: its service when the collector resolved one,
 * else the DNS name it was reached by, else its IP for private/loopback addresses and "world" for the rest
 * (Hubble's reserved:world), so unnamed internet peers do not explode the map's cardinality.
 */
import type { FlowQueryFilter } from './filter';
import type { Endpoint } from './flow';

export const WORLD = 'world';

/**
 * The label the collector puts on endpoints of Sextant's own processes (its web/API server, its PostgreSQL,
 * the collector): their traffic is hidden on the map and in flows unless asked for (`includeSelf`).
 */
export const SELF_LABEL = 'sextant:self';

export function isSelfEndpoint(e: Pick<Endpoint, 'labels'>): boolean {
  return e.labels?.includes(SELF_LABEL) === true;
}

/** A flow query that also leaves out records where either side is Sextant's own process (deny filters). */
export function withoutSelf(q: FlowQueryFilter): FlowQueryFilter {
  return { ...q, deny: [...q.deny, { sourceLabel: [SELF_LABEL] }, { destinationLabel: [SELF_LABEL] }] };
}

export function isPrivateIp(ip: string): boolean {
  if (ip.includes(':')) {
    const v = ip.toLowerCase();
    if (v === '::1' || v.startsWith('fe80:') || v.startsWith('fc') || v.startsWith('fd')) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v);
    return mapped ? isPrivateIp(mapped[1] ?? '') : false;
  }
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return (
    a === 10 ||
    a === 127 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

export function endpointServiceName(e: Pick<Endpoint, 'ip' | 'service' | 'names'>): string {
  if (e.service) return e.service;
  const dnsName = e.names?.[0];
  if (dnsName) return dnsName;
  return isPrivateIp(e.ip) ? e.ip : WORLD;
}
