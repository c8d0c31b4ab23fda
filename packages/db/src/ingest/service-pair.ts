/**
 * The service pair every ingest rollup is keyed by after its bucket (columns SERVICE_PAIR): each side named as
 * the rollups name it (service, else first DNS name, else address; namespace '' when none), the pair's parts of
 * a KeyedRows key, and its columns in an upsert payload. One definition for edge, latency, coverage and record
 * rollups, so that their rows join on the same names.
 */
import { endpointServiceName, type EndpointIdentity } from '@sextant/shared';

export interface ServicePair {
  srcNamespace: string;
  srcService: string;
  dstNamespace: string;
  dstService: string;
}

/** Both sides of a record named from their identities (BatchEndpoints.identity) and addresses. */
export function servicePair(s: EndpointIdentity, sIp: string, d: EndpointIdentity, dIp: string): ServicePair {
  return {
    srcNamespace: s.namespace ?? '',
    srcService: endpointServiceName({ ip: sIp, service: s.service, names: s.names }),
    dstNamespace: d.namespace ?? '',
    dstService: endpointServiceName({ ip: dIp, service: d.service, names: d.names }),
  };
}

/** The pair's parts of a KeyedRows key, in SERVICE_PAIR order. */
export const servicePairParts = (p: ServicePair): string[] => [p.srcNamespace, p.srcService, p.dstNamespace, p.dstService];

/** The pair's SERVICE_PAIR columns in an upsert payload. */
export const servicePairPayload = (p: ServicePair) => ({
  src_namespace: p.srcNamespace,
  src_service: p.srcService,
  dst_namespace: p.dstNamespace,
  dst_service: p.dstService,
});
