/**
 * The flow filter model, with Hubble `observe` semantics: a FlowFilter ANDs its fields and ORs the values
 * inside one field; a query has an allow list and a deny list of FlowFilters: a flow passes when it matches
 * any allow filter (or the allow list is empty) and none of the deny filters.
 */
import { z } from 'zod';
import { L4Protocol, L7Protocol, TcpFlag, TrafficDirection, Verdict } from './flow';

const values = <T extends z.ZodType>(t: T) => z.array(t).max(64).optional();
const str = z.string().min(1).max(512);

/** `--http-status` values: an exact code ("503") or a prefix ("5+", "50+"). */
export const HttpStatusMatch = z.string().regex(/^(\d{3}|\d{1,2}\+)$/, 'expected a status like 503, 5+ or 50+');
/** `--grpc-method` values: "<service>/<method>" (one method) or "<service>" (all its methods), as in :path. */
export const GrpcMethodMatch = z.string().regex(/^[^/\s]{1,512}(\/[^/\s]{1,256})?$/, 'expected a gRPC service or service/method');
/** `--grpc-status` values: the code as a number string (observe-args turns NOT_FOUND into "5"). */
export const GrpcStatusMatch = z.string().regex(/^\d{1,10}$/, 'expected a gRPC status code like 5 or NOT_FOUND');
/** Port values are numbers as strings so filter strings and URLs round-trip unchanged. */
export const PortMatch = z
  .string()
  .regex(/^\d{1,5}$/)
  .refine((p) => Number(p) <= 65535, 'port out of range');

export const FlowFilter = z.object({
  sourceIp: values(str),
  sourcePod: values(str),
  sourceService: values(str),
  sourceNamespace: values(str),
  sourceFqdn: values(str),
  sourceLabel: values(str),
  sourceWorkload: values(str),
  sourceProcess: values(str),
  sourcePort: values(PortMatch),
  destinationIp: values(str),
  destinationPod: values(str),
  destinationService: values(str),
  destinationNamespace: values(str),
  destinationFqdn: values(str),
  destinationLabel: values(str),
  destinationWorkload: values(str),
  destinationProcess: values(str),
  destinationPort: values(PortMatch),
  nodeName: values(str),
  verdict: values(Verdict),
  trafficDirection: values(TrafficDirection),
  protocol: values(z.union([L4Protocol, L7Protocol, z.enum(['tcp', 'udp', 'icmpv4', 'icmpv6'])])),
  tcpFlags: values(TcpFlag),
  ipVersion: values(z.union([z.literal(4), z.literal(6)])),
  reply: z.boolean().optional(),
  /** Event type: flows (L3_L4) or L7 exchanges (L7). */
  eventType: values(z.enum(['L3_L4', 'L7'])),
  httpStatusCode: values(HttpStatusMatch),
  httpMethod: values(z.string().min(1).max(32)),
  /** Regular expressions (RE2-compatible subset), matched against the URL path. */
  httpPath: values(z.string().min(1).max(512)),
  /** Regular expressions matched against the DNS query name, like Hubble's --dns-query. */
  dnsQuery: values(z.string().min(1).max(512)),
  kafkaTopic: values(str),
  /** gRPC calls (HTTP/2) by service or service/method. */
  grpcMethod: values(GrpcMethodMatch),
  /** gRPC calls by grpc-status. */
  grpcStatus: values(GrpcStatusMatch),
  flowId: values(z.uuid()),
});
export type FlowFilter = z.infer<typeof FlowFilter>;

export const FlowQueryFilter = z.object({
  allow: z.array(FlowFilter).max(32).default([]),
  deny: z.array(FlowFilter).max(32).default([]),
});
export type FlowQueryFilter = z.infer<typeof FlowQueryFilter>;
export type FlowQueryFilterInput = z.input<typeof FlowQueryFilter>;
