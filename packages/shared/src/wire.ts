/**
 * Versioned wire schemas between collectors and the server. A batch is the unit of idempotency: the
 * collector picks a random batchId once and reuses it on every retry, the server stores it at most once.
 * v1 carries flows as objects; v2 (wire-compact.ts) as rows plus a table of endpoint identities; v3 also
 * L7 events' endpoints as refs into that table. The server accepts all three and expands v2 and v3 into v1's
 * shape, which is what storage and everything after it see.
 */
import { z } from 'zod';
import { EpochMs, Flow, L7_PROTOCOLS, L7Event } from './flow';
import { HIST_NUM_BUCKETS } from './histogram';
import { marked, text } from './sanitize';
import { checkEndpointRefs, decodeFlowRows, decodeL7Rows, EndpointIdentity, FlowRow, L7EventRow, MAX_BATCH_ENDPOINTS } from './wire-compact';

/** The newest batch schema; collectors send it to servers that list it in `register`'s answer. */
export const WIRE_SCHEMA_VERSION = 3 as const;
/** Batch schemas this server accepts. */
export const WIRE_SCHEMA_VERSIONS = [1, 2, 3] as const;
export type WireSchemaVersion = (typeof WIRE_SCHEMA_VERSIONS)[number];

/** Limits a batch must respect; the server answers PAYLOAD_TOO_LARGE above them. */
export const BATCH_LIMITS = {
  maxFlows: 20_000,
  maxL7Events: 20_000,
  maxHistograms: 5_000,
  /** Request body size accepted by the ingest endpoint. */
  maxBodyBytes: 16 * 1024 * 1024,
} as const;

/** Connection-level latency kinds, then one request → first response kind per L7 protocol. */
export const HISTOGRAM_KINDS = ['tcp_connect', 'tcp_srtt', ...L7_PROTOCOLS] as const;
export const HistogramKind = z.enum(HISTOGRAM_KINDS);
export type HistogramKind = z.infer<typeof HistogramKind>;

const bucketIndex = z.number().int().min(0).max(HIST_NUM_BUCKETS - 1);
/** bigint columns (and sums of them): counts and counters stay exact JS integers. */
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const name = text().max(253);

/** Latency histogram for one (source, destination, kind) over a window, read from a BPF map. */
export const HistogramSample = z
  .object({
    kind: HistogramKind,
    /** Window start and length; the server rolls it into the minute that holds windowStart. */
    windowStart: EpochMs,
    windowSeconds: z.number().positive().max(3600),
    nodeName: name,
    sourceService: name,
    sourceNamespace: name.default(''),
    destinationService: name,
    destinationNamespace: name.default(''),
    destinationIp: z.union([z.ipv4(), z.ipv6()]).optional(),
    destinationPort: z.number().int().min(0).max(65535).optional(),
    idx: z.array(bucketIndex).max(HIST_NUM_BUCKETS),
    cnt: z.array(count).max(HIST_NUM_BUCKETS),
  })
  .refine((h) => h.idx.length === h.cnt.length, { path: ['cnt'], message: 'idx and cnt must have the same length' });
export type HistogramSample = z.infer<typeof HistogramSample>;

const MAX_HEALTH_DETAILS = 64;

/** A collector's report about itself, so "no traffic" and "not visible" are never confused. */
const HealthFields = z.object({
  time: EpochMs,
  version: text().max(64),
  kernel: text().max(128),
  hostname: name,
  eventsPerSecond: z.number().min(0).max(1e12),
  /** Kernel events lost since the collector started (ring buffer full, map full, queue drops). */
  lostEvents: count,
  parsedBytes: count.default(0),
  unparsedBytes: count.default(0),
  spoolBytes: count.default(0),
  /**
   * Batches the server answered 4xx (it can never accept them) since the collector started: kept in the
   * spool's dead-letter file instead of being retried (apps/collector spool.ts), their records counted in lostEvents.
   */
  deadLetterBatches: count.default(0),
  ebpf: z.object({ available: z.boolean(), reason: text().max(1024).optional() }).optional(),
  details: z
    .record(text().max(64), z.union([z.number(), text().max(1024), z.boolean()]))
    .refine((d) => Object.keys(d).length <= MAX_HEALTH_DETAILS, { message: `at most ${MAX_HEALTH_DETAILS} details` })
    .optional(),
  /** Set by the server when the report's text held NUL or lone surrogates (replaced by U+FFFD). */
  sanitized: z.boolean().optional(),
});
export const CollectorHealthReport = marked(HealthFields, (h) => {
  h.sanitized = true;
});
export type CollectorHealthReport = z.infer<typeof CollectorHealthReport>;
export type CollectorHealthReportInput = z.input<typeof CollectorHealthReport>;

// What every batch schema carries around its flows and L7 events.
const batchHead = { batchId: z.uuid(), sentAt: EpochMs };
const batchTail = {
  histograms: z.array(HistogramSample).default([]),
  health: CollectorHealthReport.optional(),
};
// v2 and v3: a default node name per batch, the endpoint identities its flows (and v3 L7 events) refer to.
const compactHead = {
  ...batchHead,
  nodeName: name,
  endpoints: z.array(EndpointIdentity).max(MAX_BATCH_ENDPOINTS).default([]),
  flows: z.array(FlowRow).default([]),
};

/** v1: flows as objects, each endpoint in full. Also the shape every batch has once parsed. */
export const IngestBatchV1 = z.object({ schemaVersion: z.literal(1), ...batchHead, flows: z.array(Flow).default([]), l7: z.array(L7Event).default([]), ...batchTail });

/** v2: flows as rows; their endpoints' identities once each in `endpoints`; L7 events as objects. */
export const IngestBatchV2 = z
  .object({ schemaVersion: z.literal(2), ...compactHead, l7: z.array(L7Event).default([]), ...batchTail })
  .superRefine((b, ctx) => checkEndpointRefs(b.flows, b.endpoints.length, ctx));
export type IngestBatchV2Input = z.input<typeof IngestBatchV2>;

/** v3: as v2, and L7 events' endpoints as refs into `endpoints` too. */
export const IngestBatchV3 = z
  .object({ schemaVersion: z.literal(3), ...compactHead, l7: z.array(L7EventRow).default([]), ...batchTail })
  .superRefine((b, ctx) => checkEndpointRefs(b.flows, b.endpoints.length, ctx, b.l7));
export type IngestBatchV3Input = z.input<typeof IngestBatchV3>;

/** What ingest.push accepts: any version, parsed into v1's shape. */
export const IngestBatch = z.discriminatedUnion('schemaVersion', [IngestBatchV1, IngestBatchV2, IngestBatchV3]).transform((b): z.output<typeof IngestBatchV1> => {
  if (b.schemaVersion === 1) return b;
  const { nodeName, endpoints, flows, ...rest } = b;
  return {
    ...rest,
    schemaVersion: 1,
    flows: decodeFlowRows(flows, endpoints, nodeName),
    l7: b.schemaVersion === 2 ? b.l7 : decodeL7Rows(b.l7, endpoints),
  };
});
export type IngestBatch = z.output<typeof IngestBatch>;
export type IngestBatchInput = z.input<typeof IngestBatch>;
export type IngestBatchV1Input = z.input<typeof IngestBatchV1>;

export const IngestResult = z.object({
  batchId: z.uuid(),
  /** false when the batch id had been stored before: nothing was written again. */
  stored: z.boolean(),
  flows: z.number().int(),
  l7: z.number().int(),
  histograms: z.number().int(),
  /**
   * Records left out because their time is outside the ingest window [now − raw retention, now + skew]
   * (packages/db ingest/window.ts), by reason; the rest of the batch is stored. Absent from older servers.
   */
  rejected: z.object({ tooOld: z.number().int(), tooNew: z.number().int() }).optional(),
});
export type IngestResult = z.infer<typeof IngestResult>;

export const RegisterInput = z.object({
  hostname: text().min(1).max(253),
  version: text().max(64),
  kernel: text().max(128),
});
export type RegisterInput = z.infer<typeof RegisterInput>;
