/**
 * The wire schema between collectors and the server: one batch shape, flows as positional rows (FLOW_FIELDS,
 * flow-fields.ts) and L7 events with their endpoints as refs, both into one table of endpoint identities
 * (wire-compact.ts). A batch is the unit of idempotency: the collector picks a random batchId once and reuses
 * it on every retry, the server stores it at most once. `schemaVersion` is checked first, so a batch of any
 * other shape is answered 400 with one clear line instead of an issue per record.
 */
import { z } from 'zod';
import { EpochMs, L7_PROTOCOLS, type Flow, type FlowInput, type L7Event, type L7EventInput } from './flow';
import { HIST_NUM_BUCKETS } from './histogram';
import { marked, text } from './sanitize';
import {
  BatchEncoder,
  checkEndpointRefs,
  EndpointIdentity,
  FlowRow,
  L7AggregateRow,
  L7EventRow,
  MAX_BATCH_ENDPOINTS,
  type L7AggregateInput,
} from './wire-compact';
import { flowColumnsSchema } from './wire-columns';

/**
 * The batch schema. Numbered on from the object (1) and rows-only (2) forms that 0.1.0 development went
 * through: a change of shape gets a new number, and a server answers batches of another number 400.
 * 4: kernel L7 aggregates (`l7Aggregates`) and `sampling` on L7 rows (docs/l7-line-rate.md).
 * 5: flow rows end with `l7Coverage`, the connection's decode class (l7-coverage.ts).
 * 6: flows may come as columns (`flowColumns`, wire-columns.ts) instead of rows; otherwise as 5, which servers
 *    still take (batches spooled by an older collector).
 */
export const WIRE_SCHEMA_VERSION = 6 as const;
/** Batch schemas this server takes. */
export const WIRE_SCHEMA_VERSIONS = [5, WIRE_SCHEMA_VERSION] as const;

/** Limits a batch must respect; the server answers PAYLOAD_TOO_LARGE above them. */
export const BATCH_LIMITS = {
  maxFlows: 20_000,
  maxL7Events: 20_000,
  maxHistograms: 5_000,
  maxL7Aggregates: 20_000,
  /** Request body size accepted by the ingest endpoint. */
  maxBodyBytes: 16 * 1024 * 1024,
} as const;

/** Connection-level latency kinds, then one request → first response kind per L7 protocol. */
export const HISTOGRAM_KINDS = ['tcp_connect', 'tcp_srtt', ...L7_PROTOCOLS] as const;
export const HistogramKind = z.enum(HISTOGRAM_KINDS);
export type HistogramKind = z.infer<typeof HistogramKind>;

const bucketIndex = z
  .number()
  .int()
  .min(0)
  .max(HIST_NUM_BUCKETS - 1);
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

const schemaVersion = z.literal(WIRE_SCHEMA_VERSIONS, {
  error: (iss) =>
    `schemaVersion ${JSON.stringify(iss.input)} is not supported: this server takes batch schemas ${WIRE_SCHEMA_VERSIONS.join(' and ')} (flows as rows or columns, an endpoint table)`,
});

/**
 * An array checked item by item that stops at the first bad item, reporting its issues (at most 10) under
 * its index. A batch of 20,000 malformed records otherwise built ~100k issues and held the event loop for
 * over a second. Typed as `z.array(item)`.
 */
export function arrayUntilFirstIssue<T extends z.ZodType>(item: T, max = Number.MAX_SAFE_INTEGER): z.ZodArray<T> {
  return z
    .array(z.unknown())
    .max(max)
    .transform((values, ctx) => {
      const out: z.output<T>[] = new Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const r = item.safeParse(values[i]);
        if (!r.success) {
          for (const issue of r.error.issues.slice(0, 10)) ctx.addIssue({ ...issue, path: [i, ...issue.path] } as z.core.$ZodRawIssue);
          return z.NEVER;
        }
        out[i] = r.data;
      }
      return out;
    }) as unknown as z.ZodArray<T>;
}

const IngestBatchBody = z
  .object({
    schemaVersion,
    batchId: z.uuid(),
    sentAt: EpochMs,
    /** The node name of every flow row whose own is null, and of none other. */
    nodeName: name,
    /** Endpoint identities the flows and L7 events refer to by index. */
    endpoints: z.array(EndpointIdentity).max(MAX_BATCH_ENDPOINTS).default([]),
    flows: arrayUntilFirstIssue(FlowRow).default([]),
    l7: arrayUntilFirstIssue(L7EventRow).default([]),
    histograms: arrayUntilFirstIssue(HistogramSample).default([]),
    /** Kernel-counted L7 exchanges (folded into rollups and metrics, not stored as rows). */
    l7Aggregates: arrayUntilFirstIssue(L7AggregateRow, BATCH_LIMITS.maxL7Aggregates).default([]),
    health: CollectorHealthReport.optional(),
  })
  .superRefine((b, ctx) => checkEndpointRefs(b.flows, b.endpoints.length, ctx, b.l7, b.l7Aggregates));

const FlowColumnsBody = flowColumnsSchema(BATCH_LIMITS.maxFlows);

/**
 * Schema 6's flows as columns → the rows they stand for, under `flows`, before the batch is checked (so a bad
 * value is `flows.<row>.<field>` whichever way it came). Columns and rows in one batch: refused.
 */
const flowsFromColumns = z.looseObject({ schemaVersion }).transform((b, ctx) => {
  if (!('flowColumns' in b)) return b;
  if (b.schemaVersion < 6 || 'flows' in b) {
    ctx.addIssue({ code: 'custom', path: ['flowColumns'], message: 'flowColumns needs batch schema 6 and no flows rows' });
    return z.NEVER;
  }
  const r = FlowColumnsBody.safeParse(b.flowColumns);
  if (!r.success) {
    for (const issue of r.error.issues.slice(0, 10))
      ctx.addIssue({ ...issue, path: ['flowColumns', ...issue.path] } as z.core.$ZodRawIssue);
    return z.NEVER;
  }
  const { flowColumns: _columns, ...rest } = b;
  return { ...rest, flows: r.data };
});

/** What ingest.push accepts: the version first, then the batch (rows stay rows: storage reads them as they are). */
export const IngestBatch = flowsFromColumns.pipe(IngestBatchBody) as unknown as z.ZodType<
  z.output<typeof IngestBatchBody>,
  z.input<typeof IngestBatchBody>
>;
export type IngestBatch = z.output<typeof IngestBatchBody>;
export type IngestBatchInput = z.input<typeof IngestBatchBody>;

export const IngestResult = z.object({
  batchId: z.uuid(),
  /** false when the batch id had been stored before: nothing was written again. */
  stored: z.boolean(),
  flows: z.number().int(),
  l7: z.number().int(),
  histograms: z.number().int(),
  /** Kernel L7 aggregates folded into the rollups (absent from servers before batch schema 4). */
  l7Aggregates: z.number().int().optional(),
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

/** Records as objects, the rest of a batch around them. */
export interface RecordBatch<F, E, H, S = HistogramSample> {
  batchId: string;
  /** Default: now. */
  sentAt?: number;
  /** Default: the first flow's (or L7 event's) node name. */
  nodeName?: string;
  flows?: readonly F[];
  l7?: readonly E[];
  histograms?: S[];
  /** Kernel L7 aggregates, their endpoints as objects. */
  l7Aggregates?: readonly L7AggregateInput[];
  health?: H;
}

function encode(b: RecordBatch<FlowInput, L7EventInput, CollectorHealthReportInput, z.input<typeof HistogramSample>>): IngestBatchInput {
  const nodeName = b.nodeName ?? b.flows?.[0]?.nodeName ?? b.l7?.[0]?.nodeName ?? '';
  const enc = new BatchEncoder(nodeName);
  for (const f of b.flows ?? []) enc.addFlow(f);
  const l7 = (b.l7 ?? []).map((e) => enc.l7(e));
  const l7Aggregates = (b.l7Aggregates ?? []).map((a) => enc.l7Aggregate(a));
  const out: IngestBatchInput = {
    schemaVersion: WIRE_SCHEMA_VERSION,
    batchId: b.batchId,
    sentAt: b.sentAt ?? Date.now(),
    nodeName,
    endpoints: enc.endpoints,
    flows: enc.rows,
    l7,
    histograms: b.histograms ?? [],
    l7Aggregates,
  };
  if (b.health) out.health = b.health;
  return out;
}

/** Records as objects → a batch in the wire schema (tests, tools; the collector writes its own, prepared-batch.ts). */
export function encodeBatch(
  b: RecordBatch<FlowInput, L7EventInput, CollectorHealthReportInput, z.input<typeof HistogramSample>>,
): IngestBatchInput {
  return encode(b);
}

/**
 * Parsed records (their values valid already, sanitized ones already labelled) → a parsed batch, without
 * validating them again: how records that do not come from a collector (Hubble import, tests, benches) are stored.
 */
export function encodeRecords(b: RecordBatch<Flow, L7Event, CollectorHealthReport>): IngestBatch {
  return encode(b) as IngestBatch;
}
