/**
 * The flow model: connection-level L3/L4 flow records, L7 events and endpoints in Hubble's vocabulary
 * (cilium api/v1/flow/flow.proto field meanings), as zod schemas so the same definition validates the
 * wire and types the code. Times are epoch milliseconds (fractions allowed) on the wire.
 */
import { z } from 'zod';
import { L7CoverageClass } from './l7-coverage';
import { marked, text, withSanitizedLabel } from './sanitize';

export const VERDICTS = ['VERDICT_UNKNOWN', 'FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED', 'TRACED', 'TRANSLATED'] as const;
export const Verdict = z.enum(VERDICTS);
export type Verdict = z.infer<typeof Verdict>;

export const TRAFFIC_DIRECTIONS = ['TRAFFIC_DIRECTION_UNKNOWN', 'INGRESS', 'EGRESS'] as const;
export const TrafficDirection = z.enum(TRAFFIC_DIRECTIONS);
export type TrafficDirection = z.infer<typeof TrafficDirection>;

export const L4_PROTOCOLS = ['TCP', 'UDP', 'ICMPv4', 'ICMPv6'] as const;
export const L4Protocol = z.enum(L4_PROTOCOLS);
export type L4Protocol = z.infer<typeof L4Protocol>;

/** TCP flags in Hubble's order; stored as a bitmask (bit i = TCP_FLAGS[i]). */
export const TCP_FLAGS = ['SYN', 'ACK', 'FIN', 'RST', 'PSH', 'URG', 'ECE', 'CWR', 'NS'] as const;
export const TcpFlag = z.enum(TCP_FLAGS);
export type TcpFlag = z.infer<typeof TcpFlag>;

/**
 * How a TCP connection ended (UDP flows use NONE). RESET: the server (destination) reset it, or both ends
 * did; CLIENT_RESET: the client (source) reset its own connection, as browsers and pools do when they drop
 * an idle keep-alive connection — not an error (status.ts).
 */
export const CLOSE_REASONS = ['NONE', 'OPEN', 'CLOSED', 'RESET', 'CLIENT_RESET', 'REFUSED', 'TIMEOUT'] as const;
export const CloseReason = z.enum(CLOSE_REASONS);
export type CloseReason = z.infer<typeof CloseReason>;

export const WorkloadKind = z.enum([
  'Pod',
  'Deployment',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'Container',
  'SystemdUnit',
  'Process',
  'Host',
  'External',
  'World',
]);

/**
 * The latest time any input may carry: 9999-12-31T23:59:59.999Z. Beyond it `toISOString()` writes a
 * six-digit year (`+010000-…`) that partition DDL and timestamptz text cannot take (the Date maximum,
 * 8.64e15, is year 275760). Ingest narrows this further to a window around now (packages/db ingest/window.ts).
 */
export const MAX_EPOCH_MS = 253_402_300_799_999;
/** Linux's PID_MAX_LIMIT on 64-bit (2^22); pid columns are integer. */
export const MAX_PID = 4_194_304;

const label = text().max(256);
const name = text().max(253);
const ip = z.union([z.ipv4(), z.ipv6()]);
const port = z.number().int().min(0).max(65535);
/** Counters are bigint columns; a JS number is exact up to 2^53, well inside. */
const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const EpochMs = z.number().min(0).max(MAX_EPOCH_MS);
const epochMs = EpochMs;

/** One side of a flow: network address plus whatever identity the collector could resolve. */
export const Endpoint = z.object({
  ip,
  port: port.optional(),
  /** Service (or workload) name used for the service map and filters. */
  service: name.optional(),
  namespace: name.optional(),
  podName: name.optional(),
  workloads: z
    .array(z.object({ name, kind: WorkloadKind }))
    .max(8)
    .optional(),
  labels: z.array(label).max(64).optional(),
  /** DNS names this IP was resolved from (observed DNS answers), like Hubble's source_names. */
  names: z.array(name).max(16).optional(),
  /** pid is absent where it is not known (never 0 for "unknown"): stored L7 events keep none. */
  process: z
    .object({ pid: z.number().int().min(0).max(MAX_PID).optional(), name: text().max(64), exe: text().max(4096).optional() })
    .optional(),
  cgroupId: z
    .string()
    .regex(/^\d{1,20}$/)
    .optional(),
  cgroupPath: text().max(4096).optional(),
  containerId: text().max(128).optional(),
  hostName: name.optional(),
});
export type Endpoint = z.infer<typeof Endpoint>;

/** A connection-level L3/L4 flow record. Counters are from the source's point of view. */
export const FlowFields = z.object({
  id: z.uuid(),
  time: epochMs,
  endTime: epochMs.optional(),
  /** false for interim reports of a long-lived connection; the last report of a connection is final. */
  final: z.boolean().default(true),
  nodeName: name,
  verdict: Verdict,
  dropReason: text().max(128).optional(),
  l4Protocol: L4Protocol,
  ipVersion: z.union([z.literal(4), z.literal(6)]),
  source: Endpoint,
  destination: Endpoint,
  tcpFlags: z.array(TcpFlag).max(TCP_FLAGS.length).default([]),
  trafficDirection: TrafficDirection.default('TRAFFIC_DIRECTION_UNKNOWN'),
  isReply: z.boolean().default(false),
  bytesSent: counter.default(0),
  bytesReceived: counter.default(0),
  packetsSent: counter.default(0),
  packetsReceived: counter.default(0),
  retransmits: counter.default(0),
  srttUs: counter.optional(),
  connectLatencyNs: counter.optional(),
  closeReason: CloseReason.default('NONE'),
  /**
   * The other end of this connection is on the same node and is reported too (both sockets seen). Rollups
   * count such a connection once, from its client (EGRESS) side.
   */
  localPeer: z.boolean().default(false),
  /** Whether and how this connection's payload was decoded (l7-coverage.ts); absent: no class. */
  l7Coverage: L7CoverageClass.optional(),
});
/** Marks the record whose text had bytes replaced (sanitize.ts): a label on its source endpoint. */
export function markSanitized(r: { source: Endpoint }): void {
  r.source.labels = withSanitizedLabel(r.source.labels);
}
/** A flow; one whose text held NUL or lone surrogates is stored with them replaced and marked. */
export const Flow = marked(FlowFields, markSanitized);
export type Flow = z.infer<typeof Flow>;
export type FlowInput = z.input<typeof Flow>;

export const L7_TYPES = ['REQUEST', 'RESPONSE', 'SAMPLE'] as const;
export const L7Type = z.enum(L7_TYPES);
export const L7_PROTOCOLS = ['http', 'dns', 'kafka'] as const;
export const L7Protocol = z.enum(L7_PROTOCOLS);
export type L7Protocol = z.infer<typeof L7Protocol>;

const header = z.object({ key: text().max(256), value: text().max(8192) });

/** A gRPC call (HTTP/2 with content-type application/grpc): names from :path, outcome from the trailers. */
export const GrpcInfo = z.object({
  /** Fully qualified service ("helloworld.Greeter"), from :path "/<service>/<method>". */
  service: text().max(512),
  method: text().max(256),
  /** grpc-status (0 OK … 16 UNAUTHENTICATED); absent when no trailers (or headers-only response) were seen. */
  status: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
  /** grpc-message, percent-decoded. */
  message: text().max(1024).optional(),
});

export const HttpInfo = z.object({
  method: text().max(32),
  /** Full URL as seen (query string already redacted by the collector when configured). */
  url: text().max(8192),
  path: text().max(8192),
  /** Path with ids/uuids/hashes replaced by placeholders, for aggregation. */
  pathTemplate: text().max(1024).optional(),
  host: text().max(253).optional(),
  protocol: text().max(16).default('HTTP/1.1'),
  /** Response status; absent when no response was seen. */
  code: z.number().int().min(0).max(999).optional(),
  headers: z.array(header).max(64).default([]),
  requestBytes: counter.optional(),
  responseBytes: counter.optional(),
  /** HTTP/2: the stream's id on its connection. */
  streamId: z
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1)
    .optional(),
  grpc: GrpcInfo.optional(),
  /** HTTP/2: the error code name of the RST_STREAM that ended the stream (CANCEL, INTERNAL_ERROR, REFUSED_STREAM…). */
  reset: text().max(32).optional(),
  /**
   * HTTP/2 only: the stream's header blocks could not be read (never guessed). `truncated`: a block lay past
   * the bytes captured of its syscall; `table-lost`: an earlier block of the connection was lost, so its HPACK
   * dynamic table is unknown. Method, path or status are then empty/absent.
   */
  notDecodable: z.enum(['truncated', 'table-lost']).optional(),
});

export const DnsInfo = z.object({
  query: text().max(253),
  id: z.number().int().min(0).max(65535).optional(),
  qtypes: z.array(text().max(16)).max(8).default([]),
  rcode: z.number().int().min(0).max(4095).optional(),
  ips: z.array(ip).max(64).default([]),
  /** RFC 2181: a TTL is an unsigned 31-bit number. */
  ttl: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
  cnames: z.array(name).max(16).default([]),
  rrtypes: z.array(text().max(16)).max(64).default([]),
  transport: z.enum(['udp', 'tcp']).default('udp'),
});

export const KafkaInfo = z.object({
  apiKey: text().max(64),
  apiVersion: z.number().int().min(0).max(1000),
  /** int32 on the wire. */
  correlationId: z
    .number()
    .int()
    .min(-(2 ** 31))
    .max(2 ** 31 - 1),
  clientId: text().max(256).optional(),
  topic: text().max(249).optional(),
  errorCode: z.number().int().min(-1).max(32767).optional(),
});

/**
 * Why a record of an exchange counted by the kernel's aggregates was kept (docs/l7-line-rate.md): an error, a
 * slow exchange, an on-demand capture, or a success within the record budget. Absent: the full path, where the
 * record is the only count of its exchange. Rollups and metrics count only records without it.
 */
export const L7_SAMPLINGS = ['error', 'slow', 'capture', 'sampled'] as const;
export const L7Sampling = z.enum(L7_SAMPLINGS);
export type L7Sampling = z.infer<typeof L7Sampling>;

/** The fields of an L7 event (L7Event adds its one cross-field check). */
export const L7EventFields = z.object({
  id: z.uuid(),
  /** The connection flow (Flow.id) this exchange travelled on: the L4 ↔ L7 join. */
  flowId: z.uuid(),
  time: epochMs,
  nodeName: name,
  type: L7Type.default('RESPONSE'),
  protocol: L7Protocol,
  latencyNs: counter.optional(),
  source: Endpoint,
  destination: Endpoint,
  http: HttpInfo.optional(),
  dns: DnsInfo.optional(),
  kafka: KafkaInfo.optional(),
  /** Set when the exchange is counted by a kernel aggregate (L7_SAMPLINGS); absent on the full path. */
  sampling: L7Sampling.optional(),
  /** Decoded from TLS plaintext, read by uprobes in libssl.so.3 (`openssl`) or in the node binary (`node`); absent: cleartext on the wire. */
  tls: z.enum(['openssl', 'node']).optional(),
});

/** The details of its protocol are required: an issue at that path otherwise. */
export function checkL7Details(e: { protocol: L7Protocol; http?: unknown; dns?: unknown; kafka?: unknown }, ctx: z.RefinementCtx): void {
  if (!e[e.protocol])
    ctx.addIssue({ code: 'custom', path: [e.protocol], message: `${e.protocol} details are required for a ${e.protocol} event` });
}

/** An L7 exchange (request paired with its response when seen), linked to its connection flow. Marked as Flow is. */
export const L7Event = marked(L7EventFields.superRefine(checkL7Details), markSanitized);
export type L7Event = z.infer<typeof L7Event>;
export type L7EventInput = z.input<typeof L7Event>;
