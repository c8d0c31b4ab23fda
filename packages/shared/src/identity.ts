/**
 * How an endpoint is named on the service map and in rollups: its service when the collector resolved one,
 * else the DNS name it was reached by, else its IP for private/loopback addresses and "world" for the rest
 * (Hubble's reserved:world), so unnamed internet peers do not explode the map's cardinality.
 */
import type { Endpoint } from './flow';

export const WORLD = 'world';

export function isPrivateIp(ip: string): boolean {
  if (ip.includes(':')) {
    const v = ip.toLowerCase();
    if (v === '::1' || v.startsWith('fe80:') || v.startsWith('fc') || v.startsWith('fd')) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v);
    return mapped ? isPrivateIp(mapped[1] ?? '') : false;
  }
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
}

export function endpointServiceName(e: Pick<Endpoint, 'ip' | 'service' | 'names'>): string {
  if (e.service) return e.service;
  const dnsName = e.names?.[0];
  if (dnsName) return dnsName;
  return isPrivateIp(e.ip) ? e.ip : WORLD;
}
